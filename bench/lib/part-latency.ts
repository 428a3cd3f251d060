/**
 * Bench part 3: client-observed latency of an exact hit, a semantic hit, a miss, and a direct
 * call to the same upstream without the gateway, interleaved round by round (the order rotates
 * each round) so machine noise lands on all four alike. The upstream answers after a fixed delay,
 * so the gateway's own overhead on a miss is the difference to the direct call.
 */
import type { GatewayHandle } from './gateway-proc.js';
import { percentile } from './metrics.js';
import { summarizeLatency, type LatencySummary } from './part-quality.js';
import { chatBody, MissPrompts, prepareProbes } from './probes.js';
import { log } from './progress.js';
import type { SimUpstream } from './sim-upstream.js';

export type LatencyKind = 'exact-hit' | 'semantic-hit' | 'miss' | 'direct';

export interface LatencyReport {
  rounds: number;
  upstreamLatencyMs: number;
  gatewayMode: string;
  kinds: Record<LatencyKind, LatencySummary>;
  /** Requests whose observed cache status was not the one intended (left out of the numbers). */
  misclassified: number;
  missOverhead: {
    /** p50(miss) - p50(direct), ms. */
    p50DiffMs: number;
    /** p50(miss) / p50(direct). */
    p50Ratio: number;
    /** Median of the per-round differences miss - direct (paired, so noise cancels). */
    pairedMedianDiffMs: number;
    p95DiffMs: number;
  };
}

async function timed(url: string, body: string): Promise<{ ms: number; cacheStatus: string; status: number }> {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' }, body });
  await res.arrayBuffer();
  return { ms: performance.now() - t0, cacheStatus: res.headers.get('x-cache-status') ?? 'direct', status: res.status };
}

export async function runLatency(opts: {
  gateway: GatewayHandle;
  upstream: SimUpstream;
  rounds: number;
  model: string;
  modelsDir: string;
  seed: number;
}): Promise<LatencyReport> {
  const { gateway, upstream, model } = opts;
  const probes = await prepareProbes(gateway.url, model);
  const misses = new MissPrompts(opts.seed, opts.modelsDir);
  const samples: Record<LatencyKind, number[]> = { 'exact-hit': [], 'semantic-hit': [], miss: [], direct: [] };
  const paired: number[] = [];
  let misclassified = 0;
  const chatUrl = `${gateway.url}/v1/chat/completions`;
  const directUrl = `${upstream.url}/chat/completions`;
  const order: LatencyKind[] = ['exact-hit', 'semantic-hit', 'miss', 'direct'];
  // Warm-up: connections, JIT and the embedder's first calls are not what is measured.
  for (let i = 0; i < 5; i++) {
    await timed(chatUrl, chatBody(model, misses.next()));
    await timed(directUrl, chatBody(model, misses.next()));
  }
  for (let round = 0; round < opts.rounds; round++) {
    const roundMs: Partial<Record<LatencyKind, number>> = {};
    for (let k = 0; k < order.length; k++) {
      const kind = order[(k + round) % order.length]!;
      let r;
      if (kind === 'exact-hit') r = await timed(chatUrl, chatBody(model, probes.exact[round % probes.exact.length]!));
      else if (kind === 'semantic-hit') r = await timed(chatUrl, chatBody(model, probes.semantic[round % probes.semantic.length]!));
      else if (kind === 'miss') r = await timed(chatUrl, chatBody(model, misses.next()));
      else r = await timed(directUrl, chatBody(model, misses.next()));
      const expected = kind === 'exact-hit' ? 'hit' : kind;
      if (r.status !== 200 || r.cacheStatus !== expected) {
        misclassified++;
        continue;
      }
      samples[kind].push(r.ms);
      roundMs[kind] = r.ms;
    }
    if (roundMs.miss !== undefined && roundMs.direct !== undefined) paired.push(roundMs.miss - roundMs.direct);
    if ((round + 1) % Math.max(1, Math.floor(opts.rounds / 4)) === 0) log(`latency: ${round + 1}/${opts.rounds} rounds`);
  }
  const kinds = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarizeLatency(v)])) as Record<LatencyKind, LatencySummary>;
  paired.sort((a, b) => a - b);
  return {
    rounds: opts.rounds,
    upstreamLatencyMs: upstream.opts.latencyMs.min,
    gatewayMode: gateway.measuredBy,
    kinds,
    misclassified,
    missOverhead: {
      p50DiffMs: kinds.miss.p50 - kinds.direct.p50,
      p50Ratio: kinds.miss.p50 / kinds.direct.p50,
      pairedMedianDiffMs: percentile(paired, 0.5),
      p95DiffMs: kinds.miss.p95 - kinds.direct.p95,
    },
  };
}
