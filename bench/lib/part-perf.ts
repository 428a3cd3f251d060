/**
 * Bench part `perf`: the gateway against two references measured in the same run, every figure a
 * ratio. A bare node:http forwarding proxy and the upstream itself (direct) are the references for
 * misses; a node:http server returning a fixed chat.completion is the reference for hits (the
 * limit for a cached answer). Each server is its own child process: CPU ms per request come from
 * its /proc/<pid>/stat, and none shares an event loop with the load generator. Loopback only; each
 * cell is bounded in time (autocannon) or count (sequential rounds).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type AutocannonRequest } from 'autocannon';
import { repoRoot } from './datasets.js';
import { startGatewayChild, procSample, type GatewayHandle } from './gateway-proc.js';
import { percentile } from './metrics.js';
import { chatBody, MissPrompts, prepareProbes } from './probes.js';
import { log } from './progress.js';
import { gatewayEnv, tempDataDir } from './replay.js';

export interface PerfOptions {
  modelsDir: string;
  model: string;
  upstreamMs: number;
  durationSec: number;
  sequentialRounds: number;
  missConnections: number;
  hitConnections: number;
  seed: number;
  /** Extra gateway env (WORKERS, store, ...). */
  gatewayEnv?: Record<string, string>;
  /** Writes the gateway's CPU profile here when set (node --cpu-prof). */
  cpuProfDir?: string;
}

export interface LoadCell {
  server: string;
  kind: string;
  connections: number;
  requests: number;
  requestsPerSec: number;
  latencyMs: { p50: number; p99: number; mean: number };
  errors: number;
  /** CPU ms of the measured server process per answered request. */
  cpuMsPerRequest: number;
  /** x-cache-status of the answers, for the gateway's cells. */
  statuses?: Record<string, number>;
}

export interface SequentialSummary {
  server: string;
  kind: string;
  count: number;
  p50Ms: number;
  p95Ms: number;
}

export interface Figure {
  name: string;
  value: number;
  unit: string;
  target: string;
  met: boolean;
  detail: string;
}

export interface PerfReport {
  upstreamMs: number;
  durationSec: number;
  sequentialRounds: number;
  load: LoadCell[];
  sequential: SequentialSummary[];
  /** Median of per-round differences gateway miss - direct miss (paired, so noise cancels). */
  missOverheadPairedMs: number;
  proxyOverheadPairedMs: number;
  figures: Figure[];
  gatewayRssBytesEnd: number;
  loadAverage: number[];
}

interface ServerHandle {
  name: string;
  origin: string;
  pid: number;
  cpuMs(): number;
  close(): Promise<void>;
}

function refScript(): string {
  // Compiled next to this file (dist/bench/lib/ref-servers.js); from the sources (tests via tsx),
  // the built copy, which `make test` builds first.
  const beside = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ref-servers.js');
  return fs.existsSync(beside) ? beside : path.join(repoRoot(), 'dist', 'bench', 'lib', 'ref-servers.js');
}

async function startRef(name: string, args: string[]): Promise<ServerHandle> {
  const child: ChildProcess = spawn(process.execPath, [refScript(), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  const pid = child.pid!;
  return {
    name,
    origin: `http://127.0.0.1:${port}`,
    pid,
    cpuMs: () => procSample(pid).cpuMs,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-bench' };

async function loadCell(
  server: { name: string; origin: string; cpuMs(): number },
  kind: string,
  path_: string,
  connections: number,
  durationSec: number,
  bodies: { fixed?: string[]; next?: () => string },
): Promise<LoadCell> {
  const statuses: Record<string, number> = {};
  const onResponse = (_s: number, _b: string, _c: Record<string, unknown>, headers: Record<string, string>) => {
    const s = headers['x-cache-status'];
    if (s) statuses[s] = (statuses[s] ?? 0) + 1;
  };
  const requests: AutocannonRequest[] = bodies.next
    ? [{ method: 'POST', path: path_, headers: HEADERS, setupRequest: (req) => ({ ...req, body: bodies.next!() }), onResponse }]
    : bodies.fixed!.map((body) => ({ method: 'POST', path: path_, headers: HEADERS, body, onResponse }));
  const cpu0 = server.cpuMs();
  const r = await autocannon({ url: server.origin, connections, duration: durationSec, timeout: 30, requests });
  const cpu1 = server.cpuMs();
  const answered = Math.max(1, r.requests.total - r.errors - r.timeouts);
  const cell: LoadCell = {
    server: server.name,
    kind,
    connections,
    requests: r.requests.total,
    requestsPerSec: r.requests.total / r.duration,
    latencyMs: { p50: r.latency.p50, p99: r.latency.p99, mean: r.latency.mean },
    errors: r.errors + r.timeouts + r.non2xx,
    cpuMsPerRequest: (cpu1 - cpu0) / answered,
    statuses: Object.keys(statuses).length ? statuses : undefined,
  };
  log(`perf: ${kind} x${connections} ${server.name}: ${cell.requestsPerSec.toFixed(0)} req/s, p50 ${cell.latencyMs.p50} ms, ${cell.cpuMsPerRequest.toFixed(3)} CPU ms/req`);
  return cell;
}

/** One keep-alive request at a time, timed on the client with sub-ms resolution. */
class SequentialClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  async post(origin: string, path_: string, body: string): Promise<{ ms: number; status: number; cacheStatus?: string }> {
    const url = new URL(path_, origin);
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent: this.agent, headers: { ...HEADERS, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0, cacheStatus: res.headers['x-cache-status'] as string | undefined }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

export async function runPerf(opts: PerfOptions): Promise<PerfReport> {
  const servers: ServerHandle[] = [];
  let gateway: GatewayHandle | undefined;
  const dataDir = tempDataDir('semcache-perf-');
  try {
    const upstream = await startRef('upstream', ['upstream', String(opts.upstreamMs)]);
    servers.push(upstream);
    const proxy = await startRef('bare proxy', ['proxy', upstream.origin]);
    servers.push(proxy);
    const fixed = await startRef('fixed JSON', ['fixed']);
    servers.push(fixed);
    gateway = await startGatewayChild(
      gatewayEnv({
        MODELS_DIR: opts.modelsDir,
        DATA_DIR: dataDir,
        UPSTREAM_BASE_URL: `${upstream.origin}/v1`,
        UPSTREAM_API_KEY: 'sk-bench',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
        ...(opts.gatewayEnv ?? {}),
      }),
      opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [],
    );
    const gw = { name: 'gateway', origin: gateway.url, cpuMs: () => gateway!.sample().cpuMs };
    log(`perf: gateway ${gateway.measuredBy}; upstream answers after ${opts.upstreamMs} ms`);
    const probes = await prepareProbes(gateway.url, opts.model);
    const misses = new MissPrompts(opts.seed + 7, opts.modelsDir);
    const nextMiss = () => chatBody(opts.model, misses.next());
    const CHAT = '/v1/chat/completions';
    const UP = '/v1/chat/completions';

    // Warm-up: JIT, connection pools, the embedder's first calls.
    const seq = new SequentialClient();
    for (let i = 0; i < 30; i++) {
      await seq.post(gateway.url, CHAT, nextMiss());
      await seq.post(gateway.url, CHAT, chatBody(opts.model, probes.exact[i % probes.exact.length]!));
      await seq.post(proxy.origin, UP, nextMiss());
      await seq.post(fixed.origin, '/', nextMiss());
    }

    const load: LoadCell[] = [];
    const D = opts.durationSec;
    load.push(await loadCell(upstream, 'miss', UP, opts.missConnections, D, { next: nextMiss }));
    load.push(await loadCell(proxy, 'miss', UP, opts.missConnections, D, { next: nextMiss }));
    load.push(await loadCell(gw, 'miss', CHAT, opts.missConnections, D, { next: nextMiss }));
    const exactBodies = probes.exact.map((t) => chatBody(opts.model, t));
    const semanticBodies = probes.semantic.map((t) => chatBody(opts.model, t));
    load.push(await loadCell(fixed, 'fixed', '/', opts.hitConnections, D, { fixed: exactBodies }));
    load.push(await loadCell(gw, 'exact-hit', CHAT, opts.hitConnections, D, { fixed: exactBodies }));
    load.push(await loadCell(gw, 'semantic-hit', CHAT, opts.hitConnections, D, { fixed: semanticBodies }));

    // Sequential rounds, order rotating each round so drift lands on every kind alike.
    const kinds = ['direct miss', 'proxy miss', 'gateway miss', 'fixed', 'gateway exact hit'] as const;
    const samples: Record<string, number[]> = Object.fromEntries(kinds.map((k) => [k, []]));
    const pairedGw: number[] = [];
    const pairedProxy: number[] = [];
    let misclassified = 0;
    for (let round = 0; round < opts.sequentialRounds; round++) {
      const t: Record<string, number> = {};
      for (let i = 0; i < kinds.length; i++) {
        const k = kinds[(i + round) % kinds.length]!;
        let r;
        if (k === 'direct miss') r = await seq.post(upstream.origin, UP, nextMiss());
        else if (k === 'proxy miss') r = await seq.post(proxy.origin, UP, nextMiss());
        else if (k === 'gateway miss') r = await seq.post(gateway.url, CHAT, nextMiss());
        else if (k === 'fixed') r = await seq.post(fixed.origin, '/', exactBodies[round % exactBodies.length]!);
        else r = await seq.post(gateway.url, CHAT, exactBodies[round % exactBodies.length]!);
        const want = k === 'gateway miss' ? 'miss' : k === 'gateway exact hit' ? 'hit' : undefined;
        if (r.status !== 200 || (want && r.cacheStatus !== want)) {
          misclassified++;
          continue;
        }
        samples[k]!.push(r.ms);
        t[k] = r.ms;
      }
      if (t['gateway miss'] !== undefined && t['direct miss'] !== undefined) pairedGw.push(t['gateway miss'] - t['direct miss']);
      if (t['proxy miss'] !== undefined && t['direct miss'] !== undefined) pairedProxy.push(t['proxy miss'] - t['direct miss']);
    }
    seq.close();
    if (misclassified) log(`perf: ${misclassified} sequential requests answered otherwise than intended (left out)`);
    const sequential: SequentialSummary[] = kinds.map((k) => {
      const s = [...samples[k]!].sort((a, b) => a - b);
      return { server: k, kind: k, count: s.length, p50Ms: percentile(s, 0.5), p95Ms: percentile(s, 0.95) };
    });
    const seqOf = (k: string) => sequential.find((s) => s.kind === k)!;
    const cell = (server: string, kind: string) => load.find((c) => c.server === server && c.kind === kind)!;

    const direct = cell('upstream', 'miss');
    const proxyMiss = cell('bare proxy', 'miss');
    const gwMiss = cell('gateway', 'miss');
    const fixedCell = cell('fixed JSON', 'fixed');
    const exact = cell('gateway', 'exact-hit');
    const semantic = cell('gateway', 'semantic-hit');
    const missOverheadPairedMs = median(pairedGw);
    const proxyOverheadPairedMs = median(pairedProxy);
    const f = (name: string, value: number, unit: string, target: string, met: boolean, detail: string): Figure => ({ name, value, unit, target, met, detail });
    const figures: Figure[] = [
      f(`miss throughput, ${opts.missConnections} connections, upstream ${opts.upstreamMs} ms`, gwMiss.requestsPerSec / direct.requestsPerSec, 'x direct', '>= 0.8x', gwMiss.requestsPerSec / direct.requestsPerSec >= 0.8,
        `${gwMiss.requestsPerSec.toFixed(0)} vs ${direct.requestsPerSec.toFixed(0)} req/s direct; bare proxy ${(proxyMiss.requestsPerSec / direct.requestsPerSec).toFixed(2)}x; gateway p99 ${gwMiss.latencyMs.p99} ms`),
      f('gateway CPU per miss (incl. embedding)', gwMiss.cpuMsPerRequest, 'ms', '<= 1.5 ms', gwMiss.cpuMsPerRequest <= 1.5,
        `bare proxy ${proxyMiss.cpuMsPerRequest.toFixed(3)} ms (${(gwMiss.cpuMsPerRequest / proxyMiss.cpuMsPerRequest).toFixed(1)}x the proxy)`),
      f('sequential miss overhead p50', seqOf('gateway miss').p50Ms - seqOf('direct miss').p50Ms, 'ms', '<= +2 ms', seqOf('gateway miss').p50Ms - seqOf('direct miss').p50Ms <= 2,
        `paired median ${missOverheadPairedMs.toFixed(2)} ms; bare proxy ${(seqOf('proxy miss').p50Ms - seqOf('direct miss').p50Ms).toFixed(2)} ms`),
      f(`exact hits, ${opts.hitConnections} connections`, exact.requestsPerSec / fixedCell.requestsPerSec, 'x fixed JSON', '>= 0.3x', exact.requestsPerSec / fixedCell.requestsPerSec >= 0.3,
        `${exact.requestsPerSec.toFixed(0)} vs ${fixedCell.requestsPerSec.toFixed(0)} req/s; CPU ${exact.cpuMsPerRequest.toFixed(3)} ms/hit vs ${fixedCell.cpuMsPerRequest.toFixed(3)} ms`),
      f(`semantic hits, ${opts.hitConnections} connections`, semantic.requestsPerSec / fixedCell.requestsPerSec, 'x fixed JSON', '>= 0.15x', semantic.requestsPerSec / fixedCell.requestsPerSec >= 0.15,
        `${semantic.requestsPerSec.toFixed(0)} req/s, p50 ${semantic.latencyMs.p50} ms; CPU ${semantic.cpuMsPerRequest.toFixed(3)} ms/hit`),
      f('exact-hit p50, 1 connection', seqOf('gateway exact hit').p50Ms, 'ms', '<= 1 ms', seqOf('gateway exact hit').p50Ms <= 1,
        `fixed JSON server p50 ${seqOf('fixed').p50Ms.toFixed(2)} ms`),
    ];
    const rss = gateway.sample().rssBytes;
    return {
      upstreamMs: opts.upstreamMs,
      durationSec: opts.durationSec,
      sequentialRounds: opts.sequentialRounds,
      load,
      sequential,
      missOverheadPairedMs,
      proxyOverheadPairedMs,
      figures,
      gatewayRssBytesEnd: rss,
      loadAverage: (await import('node:os')).loadavg(),
    };
  } finally {
    await gateway?.close();
    for (const s of servers) await s.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export function renderPerf(p: PerfReport): string[] {
  const L: string[] = [];
  L.push('## Performance against references', '');
  L.push(
    `Same run, loopback, each server its own process (CPU ms per request from /proc/<pid>/stat). Upstream answers a fixed chat.completion after ${p.upstreamMs} ms; ` +
      `"bare proxy" is a node:http forwarding proxy; "fixed JSON" is a node:http server returning the same chat.completion at once. ` +
      `autocannon ${p.durationSec} s per cell; ${p.sequentialRounds} sequential rounds in rotating order. Load average at the end ${p.loadAverage.map((x) => x.toFixed(1)).join(' ')}.`,
    '',
  );
  L.push('| figure | value | target | met | detail |', '| --- | --- | --- | --- | --- |');
  const n = (v: number, unit: string) => (unit.startsWith('x') ? `${v.toFixed(2)}${unit}` : `${v.toFixed(2)} ${unit}`);
  for (const f of p.figures) L.push(`| ${f.name} | ${n(f.value, f.unit)} | ${f.target} | ${f.met ? 'yes' : 'no'} | ${f.detail} |`);
  L.push('', '| server | requests | connections | req/s | p50 ms | p99 ms | CPU ms/req | errors | answered as |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const c of p.load) {
    const st = c.statuses ? Object.entries(c.statuses).map(([k, v]) => `${k} ${v}`).join(', ') : '';
    L.push(`| ${c.server} | ${c.kind} | ${c.connections} | ${c.requestsPerSec.toFixed(0)} | ${c.latencyMs.p50} | ${c.latencyMs.p99} | ${c.cpuMsPerRequest.toFixed(3)} | ${c.errors} | ${st} |`);
  }
  L.push('', '| sequential | n | p50 ms | p95 ms |', '| --- | --- | --- | --- |');
  for (const s of p.sequential) L.push(`| ${s.kind} | ${s.count} | ${s.p50Ms.toFixed(2)} | ${s.p95Ms.toFixed(2)} |`);
  L.push('', `Gateway RSS at the end: ${(p.gatewayRssBytesEnd / 1048576).toFixed(0)} MiB.`, '');
  return L;
}
