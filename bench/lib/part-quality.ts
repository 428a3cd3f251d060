/**
 * Bench part 1 and 2: hit quality through the real gateway at the configured threshold, and the
 * offline threshold sweep (guard on and off) on the same workloads, pooled for calibration.
 */
import { createGuard } from '../../src/cache/guard.js';
import { loadWordSimilarity } from '../../src/cache/word-similarity.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import { agreement, ReplaySimulator, thresholdGrid, type Scoring } from './cache-sim.js';
import { percentile } from './metrics.js';
import { poolMetrics, Savings, scoreDecisions, type QualityMetrics } from './quality.js';
import { replayWorkload } from './replay.js';
import type { SimUpstreamOptions } from './sim-upstream.js';
import { prefix, type Workload } from './workload.js';
import { log } from './progress.js';

export interface SweepPoint {
  threshold: number;
  guard: boolean;
  metrics: QualityMetrics;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface WorkloadQuality {
  name: string;
  description: string;
  /** Requests per kind (original, paraphrase, exact-repeat, near-miss, unseen). */
  kinds: Record<string, number>;
  requests: number;
  http: {
    requests: number;
    metrics: QualityMetrics;
    /** Same status and same source as the offline replay at the same settings, on the same prefix. */
    agreementWithOffline: number;
    unattributed: number;
    errors: number;
    latencyMs: { hit: LatencySummary; miss: LatencySummary };
  };
  /** Offline on the whole workload at the configured settings. */
  offline: QualityMetrics;
  /** A few wrong hits at the configured settings (printable workloads only), to judge them by eye. */
  wrongExamples: { similarity: number; cached: string; asked: string }[];
  sweep: SweepPoint[];
}

export interface QualityReport {
  threshold: number;
  guard: boolean;
  scoring: Scoring['kind'];
  embedModel: string;
  dimension: number;
  pricingModel: string;
  upstream: SimUpstreamOptions;
  workloads: WorkloadQuality[];
  pooledSweep: SweepPoint[];
  missing: string[];
}

export interface QualityOptions {
  workloads: Workload[];
  missing: string[];
  embedder: Embedder;
  modelsDir: string;
  threshold: number;
  guard: boolean;
  /** How the gateway scores candidates for this model (see cache-sim.scoringFor). */
  scoring?: Scoring;
  /** Requests per workload replayed over HTTP (a prefix of the workload). */
  httpRequests: number;
  upstream: SimUpstreamOptions;
  pricingModel: string;
  thresholds?: number[];
}

export function summarizeLatency(values: number[]): LatencySummary {
  const s = [...values].sort((a, b) => a - b);
  return { count: s.length, p50: percentile(s, 0.5), p95: percentile(s, 0.95), p99: percentile(s, 0.99) };
}

export async function runQuality(opts: QualityOptions): Promise<QualityReport> {
  const savings = new Savings(opts.pricingModel, process.env.PRICES_FILE || undefined);
  // The configured threshold is always a sweep point, so the plot and table can mark it.
  const grid = [...new Set([...(opts.thresholds ?? thresholdGrid()), Math.round(opts.threshold * 1e4) / 1e4])].sort((a, b) => a - b);
  const env = { CACHE_SIMILARITY_THRESHOLD: String(opts.threshold), CACHE_GUARD: opts.guard ? 'on' : 'off' };

  // HTTP passes of all workloads at once: each is sequential inside, and they do not share a cache.
  const http = await Promise.all(
    opts.workloads.map(async (w) => {
      const part = prefix(w, opts.httpRequests);
      const every = Math.max(10, Math.ceil(part.items.length / 4));
      const r = await replayWorkload(part, {
        embedder: opts.embedder,
        modelsDir: opts.modelsDir,
        upstream: opts.upstream,
        model: opts.pricingModel,
        env,
        onProgress: (done) => {
          if (done % every === 0 || done === part.items.length) log(`quality: ${w.name}: ${done}/${part.items.length} requests through the gateway`);
        },
      });
      return { part, r };
    }),
  );

  const workloads: WorkloadQuality[] = [];
  for (const [i, w] of opts.workloads.entries()) {
    const t0 = performance.now();
    const sim = await ReplaySimulator.create(w, opts.embedder, createGuard({ wordSimilarity: loadWordSimilarity(opts.modelsDir, opts.embedder.name) }), opts.scoring);
    const sweep: SweepPoint[] = [];
    for (const guard of [true, false]) {
      for (const t of grid) sweep.push({ threshold: t, guard, metrics: scoreDecisions(w, sim.run(t, guard), savings) });
    }
    const configured = sim.run(opts.threshold, opts.guard);
    const offline = scoreDecisions(w, configured, savings);
    const wrongExamples = w.printable
      ? configured
          .map((d, k) => ({ d, k }))
          .filter(({ d, k }) => d.status !== 'miss' && w.items[d.source!]!.group !== w.items[k]!.group)
          .slice(0, 4)
          .map(({ d, k }) => ({ similarity: d.similarity ?? 1, cached: w.items[d.source!]!.text, asked: w.items[k]!.text }))
      : [];
    const { part, r } = http[i]!;
    const offlinePrefix = sim.run(opts.threshold, opts.guard, part.items.length);
    const hitLat = r.latencyMs.filter((_, k) => r.decisions[k]!.status !== 'miss');
    const missLat = r.latencyMs.filter((_, k) => r.decisions[k]!.status === 'miss');
    const kinds: Record<string, number> = {};
    for (const x of w.items) kinds[x.kind] = (kinds[x.kind] ?? 0) + 1;
    workloads.push({
      name: w.name,
      description: w.description,
      kinds,
      requests: w.items.length,
      http: {
        requests: part.items.length,
        metrics: scoreDecisions(part, r.decisions, savings, r.upstreamCalls),
        agreementWithOffline: agreement(r.decisions, offlinePrefix).rate,
        unattributed: r.unattributed,
        errors: r.errors,
        latencyMs: { hit: summarizeLatency(hitLat), miss: summarizeLatency(missLat) },
      },
      offline,
      wrongExamples,
      sweep,
    });
    log(`quality: ${w.name}: offline sweep of ${w.items.length} requests x ${grid.length} thresholds x guard on/off in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }

  const pooledSweep: SweepPoint[] = [];
  for (const guard of [true, false]) {
    for (const t of grid) {
      const list = workloads.map((w) => w.sweep.find((p) => p.guard === guard && p.threshold === t)!.metrics);
      pooledSweep.push({ threshold: t, guard, metrics: poolMetrics(list) });
    }
  }
  return {
    threshold: opts.threshold,
    guard: opts.guard,
    scoring: opts.scoring?.kind ?? 'cosine',
    embedModel: opts.embedder.name,
    dimension: opts.embedder.dimension,
    pricingModel: opts.pricingModel,
    upstream: opts.upstream,
    workloads,
    pooledSweep,
    missing: opts.missing,
  };
}

export interface Calibration {
  targetPrecision: number;
  guard: boolean;
  /** undefined when no threshold on the grid reaches the target. */
  threshold?: number;
  hitRate?: number;
  precision?: number;
  recall?: number;
}

/**
 * The threshold to set: the grid point with the highest pooled hit ratio whose pooled precision
 * meets the target (precision is not monotonic in the threshold, so every point is checked); on
 * a tie, the higher threshold, which is the safer one at the same hit ratio.
 */
export function calibrate(points: SweepPoint[], targetPrecision: number, guard: boolean): Calibration {
  let best: SweepPoint | undefined;
  for (const p of points) {
    if (p.guard !== guard || !(p.metrics.precision >= targetPrecision)) continue;
    if (!best || p.metrics.hitRate > best.metrics.hitRate || (p.metrics.hitRate === best.metrics.hitRate && p.threshold > best.threshold)) best = p;
  }
  if (!best) return { targetPrecision, guard };
  return { targetPrecision, guard, threshold: best.threshold, hitRate: best.metrics.hitRate, precision: best.metrics.precision, recall: best.metrics.recall };
}
