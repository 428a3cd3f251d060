/**
 * The fuzz campaign: a real gateway process (the real entry point, REDACTION=block, an admin key,
 * an upstream key, two gateway keys) in front of a recording upstream on loopback, fed the
 * generated corpus with bounded concurrency while a /health probe measures how long the event loop
 * stalls. Afterwards the invariants are checked over everything the upstream received, everything
 * the clients got back and every log line. Loopback only; bounded in count and time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LoopbackServer, readBody } from '../../test/helpers/loopback-server.js';
import { repoRoot } from '../lib/datasets.js';
import { freePort } from '../lib/gateway-proc.js';
import { CATEGORIES, generateCorpus, LIMITED_MARKER, type Category, type FuzzCase, type HttpCase, type RawCase } from './corpus.js';

const UPSTREAM_SECRET = 'sk-upstream-FUZZSECRET-0123456789';
const ADMIN_SECRET = 'admin-FUZZSECRET-9876543210';
const LIMITED_RPM = 3;
const CASE_TIMEOUT_MS = 20_000;

/** One request the upstream received. */
interface UpstreamCall {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** An OpenAI-compatible upstream that records every request, whatever its path. */
class RecordingUpstream extends LoopbackServer {
  calls: UpstreamCall[] = [];

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    this.calls.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    if (req.method === 'POST' && req.url === '/v1/chat/completions') {
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // answered anyway: the gateway validated it, or it came through a route that did not
      }
      const base = { id: `chatcmpl-fuzz-${this.calls.length}`, created: 1_700_000_000, model: String(parsed.model ?? 'gpt-4o-mini') };
      const reply = `fuzz answer ${this.calls.length}`;
      if (parsed.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
        send({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: reply }, finish_reason: null }] });
        send({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
        if ((parsed.stream_options as { include_usage?: boolean } | undefined)?.include_usage) {
          send({ ...base, object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } });
        }
        res.end('data: [DONE]\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          ...base,
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
        }),
      );
      return;
    }
    // Any other path: a plausible JSON answer, with headers a pass-through must not copy back.
    res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'upstream-session=1', 'x-internal-debug': 'node-7' });
    res.end(JSON.stringify({ object: 'list', data: [] }));
  }
}

export interface CampaignOptions {
  seed: number;
  count: number;
  concurrency?: number;
  /** `dist`: node dist/src/main.js (make fuzz); `src`: node --import tsx src/main.ts (tests). */
  entry?: 'dist' | 'src';
  /** A stall (a /health answer slower than this) is a violation. */
  maxStallMs?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface Violation {
  rule: string;
  category?: Category;
  name?: string;
  detail: string;
}

export interface CategoryReport {
  cases: number;
  statuses: Record<string, number>;
}

export interface CampaignReport {
  seed: number;
  cases: number;
  durationMs: number;
  byCategory: Record<string, CategoryReport>;
  upstreamCalls: number;
  limitedKeyUpstreamCalls: number;
  limitedKeyAllowed: number;
  healthProbes: number;
  longestStallMs: number;
  maxStallMs: number;
  violations: Violation[];
}

interface GatewayChild {
  child: ChildProcess;
  url: string;
  port: number;
  logs: () => string;
}

async function startGateway(entry: 'dist' | 'src', env: Record<string, string>): Promise<GatewayChild> {
  const root = repoRoot();
  const args = entry === 'dist' ? [path.join(root, 'dist', 'src', 'main.js')] : ['--import', 'tsx', path.join(root, 'src', 'main.ts')];
  if (entry === 'dist' && !fs.existsSync(args[0]!)) throw new Error(`${args[0]} not found: run \`make build\` first`);
  const port = await freePort();
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Every log line is kept: the secrets check reads them all.
  let logs = '';
  child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}: ${logs.slice(-2000)}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gateway not healthy after 90 s: ${logs.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url, port, logs: () => logs };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends one case with its path exactly as written (node's client does not normalize it). */
function sendHttp(port: number, c: HttpCase, authorization: string | undefined): Promise<Answer | { clientError: string }> {
  return new Promise((resolve) => {
    const headers: Record<string, string | string[]> = { ...c.headers };
    if (authorization && headers.authorization === undefined) headers.authorization = authorization;
    if (c.body !== undefined) headers['content-length'] = String(Buffer.byteLength(c.body));
    let req: http.ClientRequest;
    try {
      req = http.request({ host: '127.0.0.1', port, method: c.method, path: c.path, headers, agent: false });
    } catch (err) {
      // A path or header node's client itself refuses (those shapes are covered by raw cases).
      resolve({ clientError: (err as Error).message });
      return;
    }
    const timer = setTimeout(() => req.destroy(new Error('timeout')), CASE_TIMEOUT_MS);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        resolve({ clientError: `response: ${err.message}` });
      });
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      resolve({ clientError: err.message });
    });
    if (c.body !== undefined) req.write(c.body);
    req.end();
  });
}

/** Writes raw bytes and reads whatever comes back until the server closes (or 3 s pass). */
function sendRaw(port: number, c: RawCase): Promise<{ status: number; body: string; headersText: string } | { closed: true }> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const finish = () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!m) return resolve({ closed: true });
      const split = text.indexOf('\r\n\r\n');
      const headersText = split >= 0 ? text.slice(0, split) : text;
      let body = split >= 0 ? text.slice(split + 4) : '';
      if (/transfer-encoding:\s*chunked/i.test(headersText)) body = dechunk(body);
      // Only the first response counts (a case may pipeline a second request by accident).
      const len = /content-length:\s*(\d+)/i.exec(headersText);
      if (len) body = body.slice(0, Number(len[1]));
      resolve({ status: Number(m[1]), body: Buffer.from(body, 'latin1').toString('utf8'), headersText });
    };
    const timer = setTimeout(() => {
      sock.destroy();
      finish();
    }, 3000);
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('close', finish);
    sock.on('error', () => undefined);
    sock.write(Buffer.from(c.bytes.toString('latin1').replaceAll('{{HOST}}', `127.0.0.1:${port}`), 'latin1'));
  });
}

function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const nl = rest.indexOf('\r\n');
    if (nl < 0) return out;
    const size = parseInt(rest.slice(0, nl), 16);
    if (!Number.isFinite(size) || size === 0) return out;
    out += rest.slice(nl + 2, nl + 2 + size);
    rest = rest.slice(nl + 2 + size + 2);
  }
}

/** Whether a 4xx body is OpenAI's error shape: {error: {message: string, type: string, code}}. */
export function isOpenAiError(body: string): boolean {
  try {
    const e = (JSON.parse(body) as { error?: Record<string, unknown> }).error;
    return !!e && typeof e.message === 'string' && e.message.length > 0 && typeof e.type === 'string' && 'code' in e;
  } catch {
    return false;
  }
}

/** Every string in a JSON text (or the text itself), normalized as a detector should see it. */
function visibleText(text: string): string {
  const parts: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') parts.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (parts.push(k), walk(x));
  };
  try {
    walk(JSON.parse(text));
  } catch {
    parts.push(text);
  }
  return parts
    .join('\n')
    .normalize('NFKC')
    .replace(/[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]/g, '');
}

const CARD_RE = /4111[\s\-\u00a0]*1111[\s\-\u00a0]*1111[\s\-\u00a0]*1111/;

/** Whether an upstream URL stays under the upstream base path `/v1/` without dot or encoded tricks. */
function staysUnderBase(url: string): boolean {
  const pathOnly = url.split('?')[0]!;
  if (!pathOnly.startsWith('/v1/')) return false;
  return !/(^|\/)\.{1,2}(\/|$)|%2e|%2f|%5c|\\|\/\//i.test(pathOnly);
}

async function adminJson(url: string, method: string, p: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}${p}`, {
    method,
    signal: AbortSignal.timeout(30_000),
    headers: { authorization: `Bearer ${ADMIN_SECRET}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return JSON.parse(text);
}

async function sentinelChat(url: string, openKey: string): Promise<string | null> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${openKey}`, 'content-type': 'application/json', 'x-cache-namespace': 'sentinel' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Why do the tides rise and fall twice a day?' }] }),
    signal: AbortSignal.timeout(30_000),
  });
  await res.text();
  return res.headers.get('x-cache-status');
}

/** Runs the whole campaign and returns its report; the caller decides what a violation means. */
export async function runCampaign(opts: CampaignOptions): Promise<CampaignReport> {
  const concurrency = opts.concurrency ?? 4;
  const maxStallMs = opts.maxStallMs ?? 100;
  const corpus = generateCorpus(opts.seed, opts.count);
  const upstream = await new RecordingUpstream().start();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-fuzz-'));
  const gw = await startGateway(opts.entry ?? 'dist', {
    UPSTREAM_BASE_URL: upstream.url,
    UPSTREAM_API_KEY: UPSTREAM_SECRET,
    ADMIN_API_KEY: ADMIN_SECRET,
    REDACTION: 'block',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
  });
  const violations: Violation[] = [];
  const byCategory: Record<string, CategoryReport> = Object.fromEntries(CATEGORIES.map((c) => [c, { cases: 0, statuses: {} }]));
  const clientBodies: string[] = [];
  const t0 = Date.now();
  let longestStallMs = 0;
  let healthProbes = 0;
  let probing = true;
  try {
    const open = await adminJson(gw.url, 'POST', '/v1/gateway/keys', { name: 'open', rpm: 1_000_000 });
    const limited = await adminJson(gw.url, 'POST', '/v1/gateway/keys', { name: 'limited', rpm: LIMITED_RPM });
    const openKey = String(open.key);
    const limitedKey = String(limited.key);
    const keys = [openKey, limitedKey];
    if ((await sentinelChat(gw.url, openKey)) !== 'miss') violations.push({ rule: 'setup', detail: 'the sentinel request was not a miss' });

    // The stall probe: one /health at a time, back to back with a 20 ms pause, on its own socket.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const probe = (async () => {
      while (probing) {
        const start = performance.now();
        await new Promise<void>((resolve) => {
          const req = http.get({ host: '127.0.0.1', port: gw.port, path: '/health', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve());
          });
          req.setTimeout(60_000, () => req.destroy());
          req.on('error', () => resolve());
        });
        longestStallMs = Math.max(longestStallMs, performance.now() - start);
        healthProbes++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const authFor = (c: HttpCase): string | undefined => {
      if (c.key === 'open') return `Bearer ${openKey}`;
      // The lowercase scheme is a tenant trick of its own: it must still be the limited key.
      if (c.key === 'limited') return c.name.startsWith('auth-lowercase') ? `bearer ${limitedKey}` : `Bearer ${limitedKey}`;
      if (c.key === 'admin') return `Bearer ${ADMIN_SECRET}`;
      return undefined;
    };

    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < corpus.length) {
        const c: FuzzCase = corpus[next++]!;
        const cat = byCategory[c.category]!;
        cat.cases++;
        let statusLabel: string;
        if (c.kind === 'raw') {
          const r = await sendRaw(gw.port, c);
          if ('closed' in r) statusLabel = 'closed';
          else {
            statusLabel = String(r.status);
            clientBodies.push(r.headersText, r.body);
            if (r.status >= 500) violations.push({ rule: 'no 5xx from bad input', category: c.category, name: c.name, detail: `${r.status} ${r.body.slice(0, 200)}` });
            else if (r.status >= 400 && !isOpenAiError(r.body)) violations.push({ rule: '4xx in OpenAI error shape', category: c.category, name: c.name, detail: `${r.status} body ${JSON.stringify(r.body.slice(0, 120))}` });
          }
        } else {
          const r = await sendHttp(gw.port, c, authFor(c));
          if ('clientError' in r) {
            statusLabel = /timeout/.test(r.clientError) ? 'timeout' : 'client-error';
            if (statusLabel === 'timeout') violations.push({ rule: 'answered in bounded time', category: c.category, name: c.name, detail: `no answer in ${CASE_TIMEOUT_MS} ms` });
          } else {
            statusLabel = String(r.status);
            clientBodies.push(JSON.stringify(r.headers), r.body);
            if (r.status >= 500) violations.push({ rule: 'no 5xx from bad input', category: c.category, name: c.name, detail: `${r.status} ${r.body.slice(0, 200)}` });
            else if (r.status >= 400 && !isOpenAiError(r.body)) violations.push({ rule: '4xx in OpenAI error shape', category: c.category, name: c.name, detail: `${r.status} body ${JSON.stringify(r.body.slice(0, 120))}` });
            if (r.headers['set-cookie'] || r.headers['x-internal-debug']) violations.push({ rule: 'upstream headers allow-listed', category: c.category, name: c.name, detail: 'an upstream set-cookie / internal header reached the client' });
          }
        }
        cat.statuses[statusLabel] = (cat.statuses[statusLabel] ?? 0) + 1;
        done++;
        if (done % 100 === 0) opts.onProgress?.(done, corpus.length);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    probing = false;
    await probe;
    agent.destroy();
    const durationMs = Date.now() - t0;

    // --- invariants over what the upstream received ---
    let limitedCalls = 0;
    for (const call of upstream.calls) {
      if (!staysUnderBase(call.url)) violations.push({ rule: 'pass-through stays under the upstream base path', detail: `${call.method} ${call.url}` });
      const seen = visibleText(call.body) + '\n' + decodeURIComponentSafe(call.url);
      if (CARD_RE.test(seen)) violations.push({ rule: 'REDACTION=block: no card number upstream', detail: `${call.method} ${call.url}: ${seen.slice(0, 160)}` });
      const auth = call.headers.authorization;
      if (auth !== undefined && auth !== `Bearer ${UPSTREAM_SECRET}`) violations.push({ rule: 'only the provider key goes upstream', detail: `${call.url}: authorization ${String(auth).slice(0, 20)}...` });
      const raw = JSON.stringify(call.headers) + call.body;
      if (keys.some((k) => raw.includes(k)) || raw.includes(ADMIN_SECRET)) violations.push({ rule: 'gateway and admin keys never go upstream', detail: call.url });
      if (call.body.includes(LIMITED_MARKER)) limitedCalls++;
    }
    const limitedAllowed = LIMITED_RPM * (Math.floor(durationMs / 60_000) + 1);
    if (limitedCalls > limitedAllowed) violations.push({ rule: 'rate limit holds on every route', detail: `${limitedCalls} upstream calls from a key at rpm ${LIMITED_RPM} in ${Math.round(durationMs / 1000)} s (allowed ${limitedAllowed})` });

    // --- invariants over what clients and logs saw ---
    const clientText = clientBodies.join('\n');
    if (clientText.includes(UPSTREAM_SECRET)) violations.push({ rule: 'the provider key never reaches a client', detail: 'found in a response' });
    const logs = gw.logs();
    for (const [label, secret] of [['provider key', UPSTREAM_SECRET], ['admin key', ADMIN_SECRET], ['open gateway key', openKey], ['limited gateway key', limitedKey]] as const) {
      if (logs.includes(secret)) violations.push({ rule: 'secrets never reach logs', detail: `the ${label} is in the gateway's log` });
    }
    if (CARD_RE.test(visibleText(logs))) violations.push({ rule: 'no card number in logs', detail: 'a card number is in the gateway log' });

    // --- the admin state the corpus tried to change ---
    try {
      const listed = (await adminJson(gw.url, 'GET', '/v1/gateway/keys')) as { data: Array<{ name: string; revoked?: boolean; revokedAt?: unknown }> };
      const names = listed.data.map((k) => k.name).sort();
      if (names.join(',') !== 'limited,open') violations.push({ rule: 'admin endpoints refuse non-admins', detail: `keys now: ${names.join(',')}` });
      if (listed.data.some((k) => k.revoked || k.revokedAt)) violations.push({ rule: 'admin endpoints refuse non-admins', detail: 'a key was revoked' });
      const sentinel = await sentinelChat(gw.url, openKey);
      if (sentinel !== 'hit') violations.push({ rule: 'admin endpoints refuse non-admins', detail: `the sentinel entry is gone (x-cache-status ${sentinel})` });
    } catch (err) {
      violations.push({ rule: 'the gateway still answers after the campaign', detail: (err as Error).message });
    }
    if (gw.child.exitCode !== null) violations.push({ rule: 'no crash', detail: `the gateway exited with ${gw.child.exitCode}` });
    if (longestStallMs > maxStallMs) violations.push({ rule: `no event-loop stall over ${maxStallMs} ms`, detail: `a /health probe took ${Math.round(longestStallMs)} ms` });

    return {
      seed: opts.seed,
      cases: corpus.length,
      durationMs,
      byCategory,
      upstreamCalls: upstream.calls.length,
      limitedKeyUpstreamCalls: limitedCalls,
      limitedKeyAllowed: limitedAllowed,
      healthProbes,
      longestStallMs: Math.round(longestStallMs),
      maxStallMs,
      violations,
    };
  } finally {
    probing = false;
    if (gw.child.exitCode === null) {
      const exited = new Promise<void>((r) => gw.child.once('exit', () => r()));
      gw.child.kill('SIGKILL');
      await exited;
    }
    await upstream.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The report as Markdown: counts by category and status, then the violations. */
export function campaignMarkdown(r: CampaignReport, title: string): string {
  const statuses = [...new Set(Object.values(r.byCategory).flatMap((c) => Object.keys(c.statuses)))].sort();
  const lines = [
    `# ${title}`,
    '',
    `Seed ${r.seed}, ${r.cases} requests in ${(r.durationMs / 1000).toFixed(1)} s against the real entry point (REDACTION=block, ` +
      `a gateway key at rpm ${LIMITED_RPM}, an admin key, an upstream key), loopback only.`,
    '',
    `| category | requests | ${statuses.join(' | ')} |`,
    `|---|---|${statuses.map(() => '---').join('|')}|`,
    ...Object.entries(r.byCategory).map(([cat, c]) => `| ${cat} | ${c.cases} | ${statuses.map((s) => c.statuses[s] ?? 0).join(' | ')} |`),
    '',
    `- upstream calls: ${r.upstreamCalls}; from the rpm-${LIMITED_RPM} key: ${r.limitedKeyUpstreamCalls} (allowed ${r.limitedKeyAllowed})`,
    `- /health probes alongside: ${r.healthProbes}; longest: ${r.longestStallMs} ms (limit ${r.maxStallMs} ms)`,
    `- violations: **${r.violations.length}**`,
    '',
  ];
  if (r.violations.length) {
    lines.push('| rule | case | detail |', '|---|---|---|');
    for (const v of r.violations.slice(0, 200)) lines.push(`| ${v.rule} | ${v.category ?? ''} ${v.name ?? ''} | ${v.detail.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`);
    if (r.violations.length > 200) lines.push(`| ... | | ${r.violations.length - 200} more |`);
  }
  return lines.join('\n') + '\n';
}
