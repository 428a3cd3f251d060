/**
 * Bench part 4: autocannon on loopback, one time-bounded cell per (request kind, concurrency):
 * exact hits, semantic hits, misses (each request a new prompt; the upstream answers after a
 * fixed delay). Reports requests/s, latency percentiles, what the gateway answered, and the
 * gateway's CPU use per cell and RSS at the end.
 */
import autocannon, { type AutocannonRequest } from 'autocannon';
import type { GatewayHandle } from './gateway-proc.js';
import { chatBody, MissPrompts, prepareProbes } from './probes.js';
import { log } from './progress.js';

export type LoadKind = 'exact-hit' | 'semantic-hit' | 'miss';

export interface ThroughputCell {
  kind: LoadKind;
  concurrency: number;
  durationSec: number;
  requests: number;
  requestsPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; mean: number; max: number };
  errors: number;
  non2xx: number;
  /** x-cache-status of the answers (a cell is only what it says when nearly all match). */
  statuses: Record<string, number>;
  /** Gateway CPU time over wall time in the cell (1.0 = one core busy). */
  gatewayCpuCores: number;
}

export interface ThroughputReport {
  gatewayMode: string;
  upstreamLatencyMs: number;
  cells: ThroughputCell[];
  gatewayRssBytesEnd: number;
  gatewayCpuSecondsTotal: number;
}

const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-bench' };

export async function runThroughput(opts: {
  gateway: GatewayHandle;
  upstreamLatencyMs: number;
  concurrency: number[];
  durationSec: number;
  model: string;
  modelsDir: string;
  seed: number;
}): Promise<ThroughputReport> {
  const { gateway, model } = opts;
  const probes = await prepareProbes(gateway.url, model);
  const misses = new MissPrompts(opts.seed + 1, opts.modelsDir);
  const cells: ThroughputCell[] = [];
  const cpuStart = gateway.sample().cpuMs;
  for (const kind of ['exact-hit', 'semantic-hit', 'miss'] as LoadKind[]) {
    for (const concurrency of opts.concurrency) {
      const statuses: Record<string, number> = {};
      const onResponse = (_status: number, _body: string, _ctx: Record<string, unknown>, headers: Record<string, string>) => {
        const s = headers['x-cache-status'] ?? 'none';
        statuses[s] = (statuses[s] ?? 0) + 1;
      };
      let requests: AutocannonRequest[];
      if (kind === 'miss') {
        requests = [{ method: 'POST', path: '/v1/chat/completions', headers: HEADERS, setupRequest: (req) => ({ ...req, body: chatBody(model, misses.next()) }), onResponse }];
      } else {
        const texts = kind === 'exact-hit' ? probes.exact : probes.semantic;
        requests = texts.map((t) => ({ method: 'POST', path: '/v1/chat/completions', headers: HEADERS, body: chatBody(model, t), onResponse }));
      }
      const before = gateway.sample();
      const t0 = performance.now();
      const r = await autocannon({ url: gateway.url, connections: concurrency, duration: opts.durationSec, timeout: 30, requests });
      const wallMs = performance.now() - t0;
      const after = gateway.sample();
      const cell: ThroughputCell = {
        kind,
        concurrency,
        durationSec: opts.durationSec,
        requests: r.requests.total,
        requestsPerSec: r.requests.total / (r.duration > 0 ? r.duration : wallMs / 1000),
        latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, mean: r.latency.mean, max: r.latency.max },
        errors: r.errors + r.timeouts,
        non2xx: r.non2xx,
        statuses,
        gatewayCpuCores: (after.cpuMs - before.cpuMs) / wallMs,
      };
      cells.push(cell);
      log(`throughput: ${kind} x${concurrency}: ${cell.requestsPerSec.toFixed(0)} req/s, p50 ${cell.latencyMs.p50} ms, gateway CPU ${cell.gatewayCpuCores.toFixed(2)} cores`);
    }
  }
  const end = gateway.sample();
  return {
    gatewayMode: gateway.measuredBy,
    upstreamLatencyMs: opts.upstreamLatencyMs,
    cells,
    gatewayRssBytesEnd: end.rssBytes,
    gatewayCpuSecondsTotal: (end.cpuMs - cpuStart) / 1000,
  };
}
