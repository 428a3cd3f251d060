import http from 'node:http';
import net from 'node:net';
import { expect } from 'chai';
import type { Gateway } from '../src/server.js';
import { safeHeaderValue } from '../src/http/header-values.js';
import { pathProblem, upstreamUrlFor } from '../src/http/path-guard.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { chat, parseSseBody, startTestGateway } from './helpers/gateway.js';

const MODEL = 'gpt-4o-mini';
const ask = (content: string, extra: Record<string, unknown> = {}) => ({ model: MODEL, messages: [{ role: 'user', content }], ...extra });

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

/** Sends the request line's path exactly as given (as `curl --path-as-is` does): no normalization. */
export function rawRequest(baseUrl: string, method: string, rawPath: string, body?: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path: rawPath,
        // A content-length, as node's client frames DELETE / OPTIONS bodies no other way.
        headers: { ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
    req.end(body);
  });
}

/** Writes bytes on a fresh connection and reads until the server closes it. */
function rawExchange(baseUrl: string, bytes: string): Promise<string> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname, () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')));
  });
}

function expectOpenAIError(res: RawAnswer, status: number, code?: string): void {
  expect(res.status, res.text).to.equal(status);
  expect(res.json, res.text).to.be.an('object');
  expect(res.json.error.message).to.be.a('string').and.not.empty;
  expect(res.json.error.type).to.be.a('string');
  if (code) expect(res.json.error.code).to.equal(code);
}

const CHAT_ALIASES = [
  '/v1/./chat/completions',
  '/v1/chat/./completions',
  '/v1/chat/completions/.',
  '/v1/x/../chat/completions',
  '/v1/chat/x/../completions',
  '/v1/%2e/chat/completions',
  '/v1/%2E/chat/completions',
  '/v1/chat/%2e%2e/chat/completions',
  '/v1/x/.%2e/chat/completions',
  '//v1/chat/completions',
  '/v1//chat/completions',
  '/v1/chat//completions',
  '/v1/chat%2fcompletions',
  '/v1/chat%2Fcompletions',
  '/v1/chat%5ccompletions',
  '/v1/chat\\completions',
  '/v1\\chat\\completions',
  '/v1/x/..\\chat/completions',
  '/v1/chat/complet%69ons',
  '/v1/chat/completions%00',
  '/v1/chat/completions#frag',
  '/v1/chat/completions%',
  '/v1/chat/completions%zz',
  '/v1/%252e/chat/completions',
  '/v1/chat/completions%2500',
];

describe('HTTP layer hardening', () => {
  describe('request path guard (unit)', () => {
    it('accepts plain paths, one trailing slash and escaped reserved characters', () => {
      for (const p of ['/', '/health', '/v1/chat/completions', '/v1/chat/completions/', '/v1/embeddings?x=../../a', '/v1/models/ft%3Agpt-4o%3Aorg%3A%3Aid', '/v1/files/file-abc/content']) {
        expect(pathProblem(p), p).to.equal(undefined);
      }
    });
    it('refuses dot segments, empty segments, escaped separators, backslashes and absolute targets', () => {
      for (const p of [...CHAT_ALIASES, 'http://127.0.0.1/v1/chat/completions', '*', '/v1/../../internal/config']) {
        expect(pathProblem(p), p).to.be.a('string');
      }
    });
  });

  describe('pass-through upstream URL (unit)', () => {
    it('keeps to the base path and refuses anything resolving outside it', () => {
      expect(upstreamUrlFor('http://up.test/v1', '/v1/embeddings?x=1')).to.equal('http://up.test/v1/embeddings?x=1');
      expect(upstreamUrlFor('http://up.test/openai/v1', '/v1/files/a')).to.equal('http://up.test/openai/v1/files/a');
      for (const p of ['/v1/../internal', '/v1/x/../../internal', '/v1/%2e%2e/internal', '/v1\\..\\internal']) {
        expect(() => upstreamUrlFor('http://up.test/openai/v1', p), p).to.throw(/leaves the upstream base path/);
      }
    });
  });

  describe('header values (unit)', () => {
    it('keeps printable ASCII, replaces CR/LF and characters beyond Latin-1, caps the length', () => {
      expect(safeHeaderValue('gpt-4o-mini 2024')).to.equal('gpt-4o-mini 2024');
      expect(safeHeaderValue('a\r\nset-cookie: x')).to.equal('a??set-cookie: x');
      expect(safeHeaderValue('m\u00e9\u4e2d')).to.equal('m??');
      expect(safeHeaderValue('x'.repeat(20_000))).to.have.length(512);
    });
  });

  describe('against a gateway', () => {
    let upstream: FakeOpenAI;
    let gw: Gateway;

    before(async () => {
      upstream = await new FakeOpenAI().start();
      gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, REDACTION: 'block' });
    });
    after(async () => {
      await gw?.close();
      await upstream?.stop();
    });
    beforeEach(() => upstream.reset());

    it('refuses every non-plain alias of the chat route with a 400 before routing: nothing reaches the upstream', async () => {
      const body = JSON.stringify(ask('My card is 4111 1111 1111 1111, what is it worth?'));
      // The plain path applies the redaction policy...
      const plain = await rawRequest(gw.url, 'POST', '/v1/chat/completions', body);
      expectOpenAIError(plain, 400, 'sensitive_data_blocked');
      // ...and no alias may go around it through the pass-through.
      for (const p of CHAT_ALIASES) {
        const res = await rawRequest(gw.url, 'POST', p, body);
        expectOpenAIError(res, 400);
        expect(res.json.error.code, p).to.be.oneOf(['invalid_path', 'bad_request']);
      }
      expect(upstream.requestLines).to.deep.equal([]);
    });

    it('refuses spellings of the chat route a lenient upstream would normalize (matrix parameters, escaped spaces) on the pass-through', async () => {
      const body = JSON.stringify(ask('My card is 4111 1111 1111 1111, what is it worth?'));
      for (const p of ['/v1/chat/completions;x', '/v1/chat;a/completions', '/v1/chat/completions%3B', '/v1/chat/completions%20', '/v1/chat/completions%3bx=1/', '/v1/%20chat/completions']) {
        const res = await rawRequest(gw.url, 'POST', p, body);
        expectOpenAIError(res, 400, 'invalid_path');
      }
      // Other methods on the chat path would reach an upstream that may not care about the method.
      for (const method of ['PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
        for (const p of ['/v1/chat/completions', '/v1/chat/completions?x=1', '/v1/chat/completions/']) {
          const res = await rawRequest(gw.url, method, p, body);
          expectOpenAIError(res, 400, 'invalid_path');
        }
      }
      expect(upstream.requestLines).to.deep.equal([]);
      // The plain path under GET is OpenAI's own (list stored completions) and still passes.
      await rawRequest(gw.url, 'GET', '/v1/chat/completions?limit=1');
      expect(upstream.requestLines).to.deep.equal(['GET /v1/chat/completions?limit=1']);
    });

    it('never lets the pass-through leave the upstream base path', async () => {
      for (const p of ['/v1/../../internal/config', '/v1/%2e%2e/internal/config', '/v1/..%2f..%2finternal/config', '/v1/x/../../internal']) {
        const res = await rawRequest(gw.url, 'GET', p);
        expectOpenAIError(res, 400);
      }
      expect(upstream.requestLines).to.deep.equal([]);
    });

    it('refuses a model name with control characters, characters beyond ASCII or 20 KB, with a 400 before the upstream', async () => {
      for (const model of ['gpt-4o\r\nx-evil: 1', 'gpt-4o\n', 'gpt-\u4e2d', 'gpt-\u{1F600}', 'm\u00e9', 'x'.repeat(20_000), 'x'.repeat(257), '\u0000']) {
        for (const stream of [false, true]) {
          const res = await chat(gw, { ...ask('hello there'), model, stream });
          expect(res.status, JSON.stringify(model).slice(0, 40)).to.equal(400);
          expect(res.json.error.param).to.equal('model');
          expect(res.json.error.type).to.equal('invalid_request_error');
        }
      }
      expect(upstream.requestLines).to.deep.equal([]);
      const ok = await chat(gw, { ...ask('hello there'), model: 'ft:gpt-4o-mini:org:custom:abc123' });
      expect(ok.status).to.equal(200);
      expect(ok.headers.get('x-gateway-model')).to.equal('ft:gpt-4o-mini:org:custom:abc123');
    });

    it('still forwards plain pass-through paths, query included', async () => {
      const res = await rawRequest(gw.url, 'POST', '/v1/embeddings', JSON.stringify({ model: 'e', input: 'hi' }));
      expect(res.status).to.equal(200);
      await rawRequest(gw.url, 'GET', '/v1/files/file-1/content?trace=../x');
      expect(upstream.requestLines).to.deep.equal(['POST /v1/embeddings', 'GET /v1/files/file-1/content?trace=../x']);
    });

    it("answers malformed HTTP and oversized headers with Node's status and a body in OpenAI's shape", async () => {
      const cases: Array<[string, number, string]> = [
        ['GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n', 400, 'malformed_request'],
        ['NOT-HTTP\r\n\r\n', 400, 'malformed_request'],
        [`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
      ];
      for (const [bytes, status, code] of cases) {
        const answer = await rawExchange(gw.url, bytes);
        const [head, body] = answer.split('\r\n\r\n');
        expect(head, answer.slice(0, 80)).to.match(new RegExp(`^HTTP/1.1 ${status} `));
        expect(head!.toLowerCase()).to.contain('content-type: application/json');
        const json = JSON.parse(body!);
        expect(json.error.code).to.equal(code);
        expect(json.error.type).to.equal('invalid_request_error');
        expect(json.error.message).to.be.a('string').and.not.empty;
      }
      expect((await fetch(`${gw.url}/health`)).status).to.equal(200);
    });

    it('drops "usage": null from streamed chunks when the client did not ask for usage, keeps it when asked', async () => {
      const plain = await chat(gw, ask('stream me a short answer please', { stream: true }));
      expect(plain.status).to.equal(200);
      const chunks = parseSseBody(plain.text).filter((c) => c !== '[DONE]');
      expect(chunks.length).to.be.greaterThan(2);
      for (const c of chunks) expect(c, JSON.stringify(c)).to.not.have.property('usage');
      const asked = await chat(gw, ask('stream me another short answer', { stream: true, stream_options: { include_usage: true } }));
      const last = parseSseBody(asked.text).filter((c) => c !== '[DONE]').at(-1);
      expect(last.usage.total_tokens).to.be.a('number');
    });

    it('refuses an empty or non-numeric Cache-Control max-age with a 400 instead of reading it as 0', async () => {
      for (const cc of ['max-age=', 'max-age= ', 'max-age=1e3', 'max-age=0x10', 'max-age=-1', 'max-age=99999999999999999999']) {
        const res = await chat(gw, ask('what is the capital of France?'), { 'cache-control': cc });
        expect(res.status, cc).to.equal(400);
        expect(res.json.error.code).to.equal('invalid_header');
      }
      expect(upstream.requestLines).to.deep.equal([]);
    });

    it('takes "bearer X" and "Bearer X" as the same tenant (the scheme is case-insensitive)', async () => {
      const q = ask('Which planet is the largest in the solar system?');
      const first = await chat(gw, q, { authorization: 'Bearer sk-client-case' });
      expect(first.headers.get('x-cache-status')).to.equal('miss');
      for (const authorization of ['bearer sk-client-case', 'BEARER  sk-client-case']) {
        const again = await chat(gw, q, { authorization });
        expect(again.headers.get('x-cache-status'), authorization).to.equal('hit');
      }
      const other = await chat(gw, q, { authorization: 'Bearer sk-client-other' });
      expect(other.headers.get('x-cache-status')).to.equal('miss');
    });

    it('forwards OpenAI-Organization and OpenAI-Project on chat misses and never shares entries between them', async () => {
      const q = ask('Summarize the plot of Hamlet in two sentences');
      const auth = { authorization: 'Bearer sk-client-orgs' };
      const a = await chat(gw, q, { ...auth, 'openai-organization': 'org-a', 'openai-project': 'proj-1' });
      expect(a.headers.get('x-cache-status')).to.equal('miss');
      expect(upstream.calls.at(-1)!.headers['openai-organization']).to.equal('org-a');
      expect(upstream.calls.at(-1)!.headers['openai-project']).to.equal('proj-1');
      const streamed = await chat(gw, { ...q, stream: true }, { ...auth, 'openai-organization': 'org-s' });
      expect(streamed.status).to.equal(200);
      expect(upstream.calls.at(-1)!.headers['openai-organization']).to.equal('org-s');
      for (const headers of [{ 'openai-organization': 'org-b', 'openai-project': 'proj-1' }, { 'openai-organization': 'org-a', 'openai-project': 'proj-2' }, {}] as Array<Record<string, string>>) {
        const other = await chat(gw, q, { ...auth, ...headers });
        expect(other.headers.get('x-cache-status'), JSON.stringify(headers)).to.equal('miss');
      }
      const same = await chat(gw, q, { ...auth, 'openai-organization': 'org-a', 'openai-project': 'proj-1' });
      expect(same.headers.get('x-cache-status')).to.equal('hit');
      expect(upstream.calls).to.have.length(5);
    });

    it('passes back only allow-listed upstream response headers on the pass-through', async () => {
      const res = await rawRequest(gw.url, 'POST', '/v1/embeddings', JSON.stringify({ model: 'e', input: 'hi' }));
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.contain('application/json');
      expect(res.headers['x-request-id']).to.equal('req-fake-embeddings');
      expect(res.headers['openai-processing-ms']).to.equal('12');
      expect(res.headers['x-ratelimit-remaining-requests']).to.equal('99');
      expect(res.headers).to.not.have.any.keys('set-cookie', 'openai-organization', 'x-fake-upstream');
    });
  });
});
