/**
 * The reference servers of the performance part, each run as its own child process so its CPU
 * time is its own (read from /proc) and it does not share an event loop with the load generator:
 *
 *   node ref-servers.js upstream <delayMs>   an OpenAI-shaped upstream: a fixed chat.completion after a delay
 *   node ref-servers.js fixed                 the same fixed chat.completion at once (the limit for a cached answer)
 *   node ref-servers.js proxy <targetOrigin>  a bare node:http forwarding proxy with a keep-alive agent
 *
 * Each listens on 127.0.0.1 on a free port and prints `listening <port>` on stdout when ready.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

const REPLY =
  'Here is a short overview first, then the steps in order with an example you can adapt and a note ' +
  'on common mistakes to avoid along the way. In practice most people find that starting simple works ' +
  'best, and you can refine it later if needed: measure, change one thing, measure again. '.repeat(2);

/** A realistic answer body (~0.9 KB): the gateway caches exactly this, so hits and the fixed server send the same bytes. */
export function fixedCompletion(id: string): string {
  return JSON.stringify({
    id,
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'gpt-4o',
    choices: [{ index: 0, message: { role: 'assistant', content: REPLY }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 24, completion_tokens: 110, total_tokens: 134 },
  });
}

function drain(req: http.IncomingMessage, done: () => void): void {
  req.on('data', () => {});
  req.on('end', done);
}

function upstreamServer(delayMs: number): http.Server {
  let n = 0;
  return http.createServer((req, res) => {
    drain(req, () => {
      const body = fixedCompletion(`chatcmpl-ref-${++n}`);
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      }, delayMs);
    });
  });
}

function fixedServer(): http.Server {
  const body = Buffer.from(fixedCompletion('chatcmpl-ref-fixed'));
  return http.createServer((req, res) => {
    drain(req, () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
  });
}

/** Forwards method, path, headers and body to the target and streams the answer back: no parsing. */
function proxyServer(target: string): http.Server {
  const url = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  return http.createServer((req, res) => {
    const headers = { ...req.headers, host: url.host };
    const up = http.request({ host: url.hostname, port: url.port, method: req.method, path: req.url, headers, agent }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
}

function main(argv: string[]): void {
  const [mode, arg] = argv;
  let server: http.Server;
  if (mode === 'upstream') server = upstreamServer(Number(arg ?? 50));
  else if (mode === 'fixed') server = fixedServer();
  else if (mode === 'proxy' && arg) server = proxyServer(arg);
  else throw new Error('usage: ref-servers.js upstream <delayMs> | fixed | proxy <targetOrigin>');
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv.slice(2));
