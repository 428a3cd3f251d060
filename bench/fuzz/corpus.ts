/**
 * The fuzz corpus: seeded, generated hostile and malformed requests, by category. Each case says
 * how it is sent (a parsed HTTP request with a literal path, or raw bytes on a socket) and which
 * gateway key it carries; the campaign then checks invariants that hold for every case (no 5xx,
 * OpenAI error shape on 4xx, no stall, no policy bypass) rather than a per-case expected answer,
 * so the corpus can grow by generation without anyone writing expectations.
 */
import { seededRandom } from '../lib/datasets.js';

export type Category =
  | 'json-malformed'
  | 'schema'
  | 'pathological-text'
  | 'path-tricks'
  | 'header-tricks'
  | 'policy-bypass'
  | 'raw-http';

export const CATEGORIES: Category[] = ['json-malformed', 'schema', 'pathological-text', 'path-tricks', 'header-tricks', 'policy-bypass', 'raw-http'];

/** Which gateway key a case carries: `open` (high limits), `limited` (rpm 3) or none. */
export type KeyRole = 'open' | 'limited' | 'none' | 'admin';

export interface HttpCase {
  kind: 'http';
  category: Category;
  name: string;
  method: string;
  /** Sent literally, never normalized by the client. */
  path: string;
  headers: Record<string, string | string[]>;
  body?: string | Buffer;
  key: KeyRole;
}

export interface RawCase {
  kind: 'raw';
  category: Category;
  name: string;
  /** Bytes written to a fresh socket; `{{HOST}}` is replaced by host:port. */
  bytes: Buffer;
}

export type FuzzCase = HttpCase | RawCase;

/** Values a request must never deliver upstream under REDACTION=block (all Luhn-valid or e-mails). */
export const CARD = '4111111111111111';
export const CARD_VARIANTS = [
  '4111 1111 1111 1111',
  '4111-1111-1111-1111',
  '4111111111111111',
  // fullwidth digits and zero-width characters inside the number
  '４１１１ １１１１ １１１１ １１１１',
  '4111\u200b1111\u200b1111\u200b1111',
  '4\u200c1\u200d1\u20601 1111 1111 1111',
  '4111\u00a01111\u00a01111\u00a01111',
];

/** The marker the limited key's chat bodies carry, so upstream calls can be attributed to it. */
export const LIMITED_MARKER = 'fuzz-limited-marker';

const CHAT_PATH = '/v1/chat/completions';

const PATH_TRICKS = [
  '/v1/./chat/completions',
  '/v1/chat/./completions',
  '/v1/x/../chat/completions',
  '/v1/%2e/chat/completions',
  '/v1/%2E%2E/v1/chat/completions',
  '/v1/chat%2fcompletions',
  '/v1/chat%2Fcompletions',
  '/v1%2fchat%2fcompletions',
  '//v1/chat/completions',
  '/v1//chat/completions',
  '/v1/chat//completions',
  '/v1/chat/completions/',
  '/v1/chat/completions/.',
  '/v1/chat/completions/..',
  '/v1/chat/completions;x=1',
  '/v1/chat/completions%00',
  '/v1/chat/completions%20',
  '/v1\\chat\\completions',
  '/v1/chat\\completions',
  '/V1/chat/completions',
  '/v1/Chat/Completions',
  '/v1/chat/completions?x=1',
  '/v1/chat/completions#frag',
  '/v1/../v1/chat/completions',
  '/v1/%252e/chat/completions',
  '/./v1/chat/completions',
  '/v1/chat/%2e%2e/chat/completions',
  '/v1/.%2e/internal/config',
  '/v1/../../internal/config',
  '/v1/..%2f..%2finternal/config',
  '/v1/%2e%2e/%2e%2e/internal/config',
  '/v1/models/../../internal/config',
  '/v1/embeddings/../../../etc/passwd',
  'http://evil.example/v1/chat/completions',
  '*',
  '/v1/cache/../chat/completions',
  '/v1/gateway/keys/../../chat/completions',
];

const BAD_JSON = [
  '',
  '{',
  '{"model":',
  '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]',
  '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}garbage',
  'null',
  'true',
  '42',
  '"string"',
  '[]',
  '[{"model":"gpt-4o-mini"}]',
  '{"model":"gpt-4o-mini","messages":NaN}',
  '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"temperature":1e400}',
  "{'model':'gpt-4o-mini'}",
  '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"\\ud800"}]}',
  '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"\\u0000\\u0000"}]}',
  '\ufeff{"model":"gpt-4o-mini","messages":[{"role":"user","content":"bom"}]}',
  '{"__proto__":{"admin":true},"model":"gpt-4o-mini","messages":[{"role":"user","content":"proto"}]}',
  '{"constructor":{"prototype":{"x":1}},"model":"gpt-4o-mini","messages":[{"role":"user","content":"ctor"}]}',
  '{"model":"gpt-4o-mini","model":"other","messages":[{"role":"user","content":"dup keys"}]}',
];

const WORDS = 'how do I reverse a list in python what is the capital of france explain recursion simply convert celsius to fahrenheit'.split(' ');

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function words(random: () => number, n: number): string {
  return Array.from({ length: n }, () => pick(random, WORDS)).join(' ');
}

function chatBody(random: () => number, content: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'gpt-4o-mini', messages: [{ role: 'user', content }], ...extra };
}

/** Deeply nested JSON text without building the structure in memory first. */
function nested(depth: number, open: string, close: string, inner: string): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

function jsonMalformed(random: () => number, i: number): HttpCase {
  const variants: Array<() => { name: string; body: string | Buffer; ct?: string }> = [
    () => ({ name: 'bad-json', body: pick(random, BAD_JSON) }),
    () => ({ name: 'deep-array', body: `{"model":"gpt-4o-mini","messages":${nested(1000 + Math.floor(random() * 20000), '[', ']', '')}}` }),
    () => ({ name: 'deep-object', body: `{"model":"gpt-4o-mini","x":${nested(1000 + Math.floor(random() * 20000), '{"a":', '}', '1')},"messages":[]}` }),
    () => ({ name: 'invalid-utf8', body: Buffer.concat([Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0]), Buffer.from('"}]}')]) }),
    () => ({ name: 'wrong-content-type', body: JSON.stringify(chatBody(random, words(random, 5))), ct: pick(random, ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '', 'application/json; charset=utf-16']) }),
    () => ({ name: 'truncated', body: JSON.stringify(chatBody(random, words(random, 20))).slice(0, 5 + Math.floor(random() * 60)) }),
    () => ({ name: 'huge-number', body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"n"}],"max_tokens":${'9'.repeat(1 + Math.floor(random() * 400))}}` }),
  ];
  const v = pick(random, variants)();
  return {
    kind: 'http',
    category: 'json-malformed',
    name: `${v.name}#${i}`,
    method: 'POST',
    path: CHAT_PATH,
    headers: { 'content-type': v.ct ?? 'application/json' },
    body: v.body,
    key: 'open',
  };
}

const BAD_MODELS = ['', ' ', 'x'.repeat(300), 'gpt\r\nx-injected: 1', 'gpt\nfoo', 'модель', 'gpt-4o-mini\u0000', '😀'.repeat(10), 'a'.repeat(20_000), '../../etc', '<script>'];

function schema(random: () => number, i: number): HttpCase {
  const variants: Array<() => [string, unknown]> = [
    () => ['no-messages', { model: 'gpt-4o-mini' }],
    () => ['empty-messages', { model: 'gpt-4o-mini', messages: [] }],
    () => ['messages-object', { model: 'gpt-4o-mini', messages: { role: 'user', content: 'x' } }],
    () => ['bad-role', { model: 'gpt-4o-mini', messages: [{ role: pick(random, ['root', '', 'USER', 'admin', 42]), content: 'x' }] }],
    () => ['content-number', chatBody(random, 12345)],
    () => ['content-object', chatBody(random, { text: 'x' })],
    () => ['content-parts-bad', chatBody(random, [{ type: 'text' }, { type: 'image_url', image_url: 42 }, { type: 'weird', x: 1 }])],
    () => ['content-parts-many', chatBody(random, Array.from({ length: 2000 }, (_, k) => ({ type: 'text', text: `p${k}` })))],
    () => ['no-model', { messages: [{ role: 'user', content: 'x' }] }],
    () => ['bad-model', { model: pick(random, BAD_MODELS), messages: [{ role: 'user', content: words(random, 4) }] }],
    () => ['model-type', { model: pick(random, [42, null, ['a'], { a: 1 }, true]), messages: [{ role: 'user', content: 'x' }] }],
    () => ['temperature', chatBody(random, words(random, 4), { temperature: pick(random, ['hot', -1, 99, null, [], '1']) })],
    () => ['n-huge', chatBody(random, words(random, 4), { n: pick(random, [1e9, -5, 0.5, '2']) })],
    () => ['stream-type', chatBody(random, words(random, 4), { stream: pick(random, ['true', 1, null, {}]) })],
    () => ['stop-huge', chatBody(random, words(random, 4), { stop: Array.from({ length: 500 }, (_, k) => `s${k}`) })],
    () => ['tools-bad', chatBody(random, words(random, 4), { tools: pick(random, ['x', [{}], [{ type: 'function' }], [{ type: 'function', function: { name: 42 } }]]) })],
    () => ['max-tokens', chatBody(random, words(random, 4), { max_tokens: pick(random, [-1, 'ten', 1.5, 1e300]) })],
    () => ['unknown-fields', chatBody(random, words(random, 4), { [`x_${i}`]: { deep: [1, 2, { three: 'x'.repeat(100) }] } })],
    () => ['many-messages', { model: 'gpt-4o-mini', messages: Array.from({ length: 5000 }, (_, k) => ({ role: k % 2 ? 'assistant' : 'user', content: `m${k}` })) }],
    () => ['tool-no-id', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }, { role: 'tool', content: 'result' }] }],
    () => ['stream-options-bad', chatBody(random, words(random, 4), { stream: true, stream_options: pick(random, ['yes', { include_usage: 'yes' }, 5]) })],
  ];
  const [name, body] = pick(random, variants)();
  return { kind: 'http', category: 'schema', name: `${name}#${i}`, method: 'POST', path: CHAT_PATH, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), key: 'open' };
}

function pathological(random: () => number, i: number): HttpCase {
  // Runs that make byte-pair encoders and regexes super-linear, up to just under the 1 MB body limit.
  const size = pick(random, [10_000, 50_000, 150_000, 400_000, 900_000]);
  const unit = pick(random, ['h', 'ab', '0', ' ', '\u00e9', '😀', '\t', 'a.', 'x@', '1-', '\u200b', '=', 'aaaa@aaaa.', '4111 ']);
  const text = unit.repeat(Math.max(1, Math.floor(size / Buffer.byteLength(unit))));
  const where = pick(random, ['content', 'system', 'parts', 'name', 'user', 'tool-args']);
  let body: Record<string, unknown>;
  switch (where) {
    case 'system':
      body = { model: 'gpt-4o-mini', messages: [{ role: 'system', content: text }, { role: 'user', content: 'hi' }] };
      break;
    case 'parts':
      body = chatBody(random, [{ type: 'text', text }]);
      break;
    case 'name':
      body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi', name: text.slice(0, 60_000) }] };
      break;
    case 'user':
      body = chatBody(random, 'hi', { user: text });
      break;
    case 'tool-args':
      body = {
        model: 'gpt-4o-mini',
        messages: [
          { role: 'user', content: 'call it' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: text } }] },
          { role: 'tool', tool_call_id: 'c1', content: 'done' },
        ],
      };
      break;
    default:
      body = chatBody(random, text, { stream: random() < 0.3 });
  }
  return {
    kind: 'http',
    category: 'pathological-text',
    name: `${where}:${JSON.stringify(unit)}x${size}#${i}`,
    method: 'POST',
    path: CHAT_PATH,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    key: 'open',
  };
}

function pathTricks(random: () => number, i: number): HttpCase {
  const path = pick(random, PATH_TRICKS);
  const method = pick(random, ['POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
  // Path tricks carry the limited key and a marker, so a route that skips the policy shows up as
  // more limited-key calls upstream than its rpm allows.
  const body = JSON.stringify(chatBody(random, `${LIMITED_MARKER} ${words(random, 5)} ${pick(random, CARD_VARIANTS)}`));
  return { kind: 'http', category: 'path-tricks', name: `${method} ${path}#${i}`, method, path, headers: { 'content-type': 'application/json' }, body, key: 'limited' };
}

function headerTricks(random: () => number, i: number): HttpCase {
  const body = JSON.stringify(chatBody(random, words(random, 6)));
  const variants: Array<() => [string, Record<string, string | string[]>, KeyRole]> = [
    () => ['cache-control', { 'cache-control': pick(random, ['max-age=', 'max-age=-1', 'max-age=abc', 'max-age=1e99', 'no-store, no-cache, max-age=5', ',,,', 'x'.repeat(5000), 'max-age="5"']) }, 'open'],
    () => ['threshold', { 'x-cache-threshold': pick(random, ['abc', '', 'NaN', '-1', '2', '0x1', '1e-400', 'Infinity', '0.9'.repeat(100)]) }, 'open'],
    () => ['namespace', { 'x-cache-namespace': pick(random, ['', ' ', '../x', 'a'.repeat(65), 'ns\u00e9', 'ns;drop', '*', 'ns\tx']) }, 'open'],
    () => ['request-id', { 'x-request-id': pick(random, ['', 'a'.repeat(500), 'id with space', 'id\u00ff', '<script>']) }, 'open'],
    () => ['auth-basic', { authorization: 'Basic dXNlcjpwYXNz' }, 'none'],
    () => ['auth-empty', { authorization: pick(random, ['Bearer', 'Bearer ', '', 'Bearer  ', 'Token x']) }, 'none'],
    () => ['auth-huge', { authorization: `Bearer ${'k'.repeat(8000)}` }, 'none'],
    () => ['auth-wrong-key', { authorization: `Bearer sk-gw-${'0'.repeat(40)}` }, 'none'],
    () => ['auth-lowercase', {}, 'limited'],
    () => ['x-api-key', { 'x-api-key': 'sk-gw-not-a-key' }, 'none'],
    () => ['org-headers', { 'openai-organization': pick(random, ['org-1', '', 'x'.repeat(300)]), 'openai-project': pick(random, ['proj-1', '']) }, 'open'],
    () => ['accept', { accept: pick(random, ['text/event-stream', 'application/xml', '*/*;q=0', '']) }, 'open'],
    () => ['content-encoding', { 'content-encoding': pick(random, ['gzip', 'br', 'deflate', 'identity, gzip']) }, 'open'],
    () => ['many-headers', Object.fromEntries(Array.from({ length: 150 }, (_, k) => [`x-junk-${k}`, 'v'.repeat(20)])), 'open'],
  ];
  const [name, headers, key] = pick(random, variants)();
  return { kind: 'http', category: 'header-tricks', name: `${name}#${i}`, method: 'POST', path: CHAT_PATH, headers: { 'content-type': 'application/json', ...headers }, body, key };
}

function policyBypass(random: () => number, i: number): HttpCase {
  const card = pick(random, CARD_VARIANTS);
  const variants: Array<() => HttpCase> = [
    // PII in every string field that goes upstream, under REDACTION=block
    () => {
      const field = pick(random, ['content', 'user', 'metadata', 'name', 'tool-description', 'stop', 'image-url', 'system', 'parts']);
      let body: Record<string, unknown>;
      switch (field) {
        case 'user':
          body = chatBody(random, 'hello there', { user: `card ${card}` });
          break;
        case 'metadata':
          body = chatBody(random, 'hello there', { metadata: { note: `card ${card}` }, store: true });
          break;
        case 'name':
          body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello', name: `n${card.replace(/\D/g, '')}` }] };
          break;
        case 'tool-description':
          body = chatBody(random, 'hello', { tools: [{ type: 'function', function: { name: 'f', description: `card ${card}`, parameters: { type: 'object', properties: {} } } }] });
          break;
        case 'stop':
          body = chatBody(random, 'hello', { stop: [`card ${card}`] });
          break;
        case 'image-url':
          body = chatBody(random, [{ type: 'text', text: 'see' }, { type: 'image_url', image_url: { url: `https://example.com/img?card=${card}` } }]);
          break;
        case 'system':
          body = { model: 'gpt-4o-mini', messages: [{ role: 'system', content: `card ${card}` }, { role: 'user', content: 'hi' }] };
          break;
        case 'parts':
          body = chatBody(random, [{ type: 'text', text: `my card is ${card}` }]);
          break;
        default:
          body = chatBody(random, `my card is ${card} please remember it`, { stream: random() < 0.5 });
      }
      return { kind: 'http', category: 'policy-bypass', name: `pii-${field}#${i}`, method: 'POST', path: CHAT_PATH, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), key: 'open' };
    },
    // PII through pass-through endpoints
    () => ({
      kind: 'http',
      category: 'policy-bypass',
      name: `pii-passthrough#${i}`,
      method: 'POST',
      path: pick(random, ['/v1/embeddings', '/v1/moderations', '/v1/responses', '/v1/completions']),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'text-embedding-3-small', input: `card ${card}` }),
      key: 'open',
    }),
    // the limited key hammering the chat route: the rpm limit must hold
    () => ({
      kind: 'http',
      category: 'policy-bypass',
      name: `limited-chat#${i}`,
      method: 'POST',
      path: CHAT_PATH,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: JSON.stringify(chatBody(random, `${LIMITED_MARKER} ${words(random, 6)} ${i}`)),
      key: 'limited',
    }),
    // admin endpoints without the admin key
    () => {
      const [method, path, body] = pick(random, [
        ['DELETE', '/v1/cache', undefined],
        ['DELETE', '/v1/cache?namespace=default', undefined],
        ['DELETE', '/v1/cache?namespace[]=x', undefined],
        ['POST', '/v1/gateway/keys', JSON.stringify({ name: `evil${i}`, rpm: 1000 })],
        ['GET', '/v1/gateway/keys', undefined],
        ['DELETE', '/v1/gateway/keys/open', undefined],
        ['GET', '/v1/gateway/stats', undefined],
        ['GET', '/metrics', undefined],
      ] as Array<[string, string, string | undefined]>);
      return { kind: 'http', category: 'policy-bypass', name: `admin-${method}-${path}#${i}`, method, path, headers: { 'content-type': 'application/json' }, body, key: pick(random, ['none', 'open', 'limited'] as KeyRole[]) };
    },
  ];
  return pick(random, variants)();
}

function raw(random: () => number, i: number): RawCase {
  const body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"raw"}]}';
  const variants: Array<() => [string, string]> = [
    () => ['bad-request-line', 'GARBAGE\r\n\r\n'],
    () => ['bad-version', `POST /v1/chat/completions HTTP/9.9\r\nHost: {{HOST}}\r\n\r\n`],
    () => ['header-no-colon', `POST /v1/chat/completions HTTP/1.1\r\nHost: {{HOST}}\r\nBadHeader\r\n\r\n`],
    () => ['header-null', `POST /v1/chat/completions HTTP/1.1\r\nHost: {{HOST}}\r\nX-A: a\u0000b\r\nContent-Length: ${body.length}\r\n\r\n${body}`],
    () => ['cl-te', `POST /v1/chat/completions HTTP/1.1\r\nHost: {{HOST}}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n0\r\n\r\n`],
    () => ['cl-mismatch', `POST /v1/chat/completions HTTP/1.1\r\nHost: {{HOST}}\r\nContent-Type: application/json\r\nContent-Length: 3\r\nConnection: close\r\n\r\n${body}`],
    () => ['cl-negative', `POST /v1/chat/completions HTTP/1.1\r\nHost: {{HOST}}\r\nContent-Length: -1\r\n\r\n`],
    () => ['huge-header', `GET /health HTTP/1.1\r\nHost: {{HOST}}\r\nX-Big: ${'a'.repeat(20_000 + Math.floor(random() * 60_000))}\r\n\r\n`],
    () => ['lf-only', `POST /v1/chat/completions HTTP/1.1\nHost: {{HOST}}\nContent-Type: application/json\nContent-Length: ${body.length}\nConnection: close\n\n${body}`],
    () => ['absolute-uri', `POST http://evil.example/v1/chat/completions HTTP/1.1\r\nHost: {{HOST}}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`],
    () => ['crlf-in-path', `GET /v1/models\r\nX-Injected: 1 HTTP/1.1\r\nHost: {{HOST}}\r\n\r\n`],
    () => ['space-in-path', `GET /v1/mod els HTTP/1.1\r\nHost: {{HOST}}\r\nConnection: close\r\n\r\n`],
    () => ['chunked-bad', `POST /v1/chat/completions HTTP/1.1\r\nHost: {{HOST}}\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`],
  ];
  const [name, text] = pick(random, variants)();
  return { kind: 'raw', category: 'raw-http', name: `${name}#${i}`, bytes: Buffer.from(text, 'latin1') };
}

const GENERATORS: Record<Category, (random: () => number, i: number) => FuzzCase> = {
  'json-malformed': jsonMalformed,
  schema,
  'pathological-text': pathological,
  'path-tricks': pathTricks,
  'header-tricks': headerTricks,
  'policy-bypass': policyBypass,
  'raw-http': raw,
};

/** Shares of the corpus per category; pathological bodies are large, so they are fewer. */
const WEIGHTS: Record<Category, number> = {
  'json-malformed': 0.15,
  schema: 0.2,
  'pathological-text': 0.06,
  'path-tricks': 0.17,
  'header-tricks': 0.17,
  'policy-bypass': 0.15,
  'raw-http': 0.1,
};

/** `count` cases, the same for the same seed; every category has at least one case. */
export function generateCorpus(seed: number, count: number): FuzzCase[] {
  const random = seededRandom(seed);
  const out: FuzzCase[] = [];
  for (const category of CATEGORIES) {
    const n = Math.max(1, Math.round(count * WEIGHTS[category]));
    for (let k = 0; k < n; k++) out.push(GENERATORS[category](random, out.length));
  }
  // Interleave categories so a stall or limit shows up under mixed traffic, as it would in real use.
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
