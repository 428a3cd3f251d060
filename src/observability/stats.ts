import { CacheQualityStats, type CacheQualitySnapshot } from './cache-quality.js';
import { addInto, deltaOf, emptyCounters, type CacheStatus, type UsageCounters, type UsageTotals } from '../accounting/totals.js';

/**
 * The in-memory side of GET /v1/gateway/stats: a per-minute time series of the last 24 hours (a ring
 * of 1440 buckets, so memory is bounded whatever the traffic) and a bounded list of recent requests.
 * Lifetime totals live in UsageTotalsStore; pass them to snapshot() to include them.
 */

export const WINDOW_MINUTES = 1440;
const MINUTE_MS = 60_000;
/** Latency samples kept per minute: percentiles are exact up to this many requests a minute, sampled beyond. */
export const LATENCY_SAMPLES_PER_MINUTE = 256;
const PROMPT_CHARS_KEPT = 500;

/** One finished request, as the request path reports it. */
export interface StatsEvent {
  requestId: string;
  /** Epoch ms when the request finished; default now. */
  time?: number;
  /** A hash of the tenant, never the key itself. */
  tenant: string;
  model: string;
  cacheStatus: CacheStatus;
  /** HTTP status sent to the client; >= 400 counts as an error. */
  status: number;
  /** Cosine similarity of a semantic hit. */
  similarity?: number;
  latencyMs: number;
  promptTokens?: number;
  completionTokens?: number;
  savedTokens?: number;
  /** PriceTable.cost(...).microUsd of what this request paid upstream. */
  costMicroUsd?: number;
  /** What the original call of a hit cost, in micro-dollars. */
  savedMicroUsd?: number;
  /** The prompt text; kept only when the collector was made with logPrompts (LOG_PROMPTS=true). */
  prompt?: string;
}

export interface Counts {
  requests: number;
  /** Exact-match hits. */
  hits: number;
  semanticHits: number;
  misses: number;
  bypasses: number;
  errors: number;
  /** (hits + semanticHits) / (hits + semanticHits + misses); null when there was no cache lookup. */
  hitRatio: number | null;
  promptTokens: number;
  completionTokens: number;
  savedTokens: number;
  costUsd: number;
  savedUsd: number;
}

export interface WindowTotals extends Counts {
  /** Latency percentiles over the window, in milliseconds; null with no requests. */
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface SeriesPoint extends Counts {
  /** The minute, as an ISO timestamp (seconds and ms zero). */
  t: string;
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface RecentRequest {
  requestId: string;
  t: string;
  tenant: string;
  model: string;
  cacheStatus: CacheStatus;
  status: number;
  similarity: number | null;
  latencyMs: number;
  costUsd: number;
  savedUsd: number;
  savedTokens: number;
  /** Present only when LOG_PROMPTS is on; at most 500 characters. */
  prompt?: string;
}

export interface ModelStats extends Counts {
  model: string;
}

/** The JSON body of GET /v1/gateway/stats. */
export interface StatsSnapshot {
  generatedAt: string;
  windowMinutes: number;
  /** Start of the window (inclusive), ISO minute. */
  from: string;
  /**
   * When this collector (the gateway process) started: the series is in memory, so when this is
   * later than `from`, the window's figures cover only the time since.
   */
  startedAt: string;
  /** Over the last `windowMinutes`. */
  totals: WindowTotals;
  /** Since the store began (UsageTotalsStore.overall()), when the caller supplied it. */
  lifetime?: UsageTotals;
  /** One point per minute that had requests, oldest first; quiet minutes are omitted. */
  series: SeriesPoint[];
  /** Newest first. */
  recent: RecentRequest[];
  /** By requests over the window, most first, at most 10. */
  topModels: ModelStats[];
  /** Guardrail decisions since the process started, per stage, check and action (most first). */
  guardrails: GuardrailCount[];
  /**
   * Cache quality since the process started (src/observability/cache-quality.ts): per namespace
   * in error-bound mode the bound, hits, verification calls and their cost, feedback and the
   * observed wrong-answer rate; in threshold mode the nearest-score histogram and rejections.
   */
  cache: CacheQualitySnapshot;
}

export interface GuardrailCount {
  stage: string;
  check: string;
  action: string;
  count: number;
}

export interface StatsOptions {
  /** LOG_PROMPTS (config.log.prompts): keep prompt text in the recent list. */
  logPrompts?: boolean;
  /** Length of the recent-requests list. Default 100. */
  recentLimit?: number;
  now?: () => number;
  /** For the latency reservoir once a minute has more than LATENCY_SAMPLES_PER_MINUTE requests. */
  random?: () => number;
  /** The default similarity threshold, shown with the threshold-mode score histogram. */
  threshold?: number;
}

/** Window counters are the lifetime totals' counters, kept per minute. */
type RawCounts = UsageCounters;
const zeroCounts = emptyCounters;

interface Bucket {
  minute: number;
  counts: RawCounts;
  byModel: Map<string, RawCounts>;
  /** Reservoir of latencies (ms); `seen` is how many were offered. */
  latencies: number[];
  seen: number;
}

function eventDelta(e: StatsEvent): RawCounts {
  return deltaOf({ cacheStatus: e.cacheStatus, error: e.status >= 400, promptTokens: e.promptTokens, completionTokens: e.completionTokens, savedTokens: e.savedTokens, costMicroUsd: e.costMicroUsd, savedMicroUsd: e.savedMicroUsd });
}

const addCounts = addInto;

function whole(n: number | undefined): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.round(n) : 0;
}

function present(c: RawCounts): Counts {
  const lookups = c.hits + c.semanticHits + c.misses;
  return {
    requests: c.requests,
    hits: c.hits,
    semanticHits: c.semanticHits,
    misses: c.misses,
    bypasses: c.bypasses,
    errors: c.errors,
    hitRatio: lookups === 0 ? null : (c.hits + c.semanticHits) / lookups,
    promptTokens: c.promptTokens,
    completionTokens: c.completionTokens,
    savedTokens: c.savedTokens,
    costUsd: c.costMicroUsd / 1e6,
    savedUsd: c.savedMicroUsd / 1e6,
  };
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * Nearest-rank percentile over weighted samples: a sample of a busy minute stands for more requests
 * than one of a quiet minute (weight = requests in its minute / samples kept of it).
 */
export function weightedPercentile(samples: ReadonlyArray<{ value: number; weight: number }>, p: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a.value - b.value);
  const total = sorted.reduce((s, x) => s + x.weight, 0);
  const rank = p * total;
  let acc = 0;
  for (const s of sorted) {
    acc += s.weight;
    // The epsilon absorbs float error in fractional weights, so p50 of 100 equal-weight samples is the 50th.
    if (acc >= rank - 1e-9) return s.value;
  }
  return sorted[sorted.length - 1]!.value;
}

const isoMinute = (minute: number) => new Date(minute * MINUTE_MS).toISOString();

export class StatsCollector {
  private readonly ring: Array<Bucket | undefined> = new Array(WINDOW_MINUTES);
  private readonly recent: RecentRequest[] = [];
  private readonly recentLimit: number;
  private readonly logPrompts: boolean;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly startedAt: number;
  /** "stage/check/action" -> decisions; a small fixed set of keys (2 x 5 x 4). */
  private readonly guardCounts = new Map<string, number>();
  /** Cache quality counts (error-bound namespaces, threshold-mode scores and rejections). */
  readonly cacheQuality: CacheQualityStats;

  constructor(options: StatsOptions = {}) {
    this.logPrompts = options.logPrompts ?? false;
    this.recentLimit = Math.max(0, options.recentLimit ?? 100);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.startedAt = this.now();
    this.cacheQuality = new CacheQualityStats({ threshold: options.threshold });
  }

  private bucketFor(minute: number): Bucket {
    const slot = ((minute % WINDOW_MINUTES) + WINDOW_MINUTES) % WINDOW_MINUTES;
    let b = this.ring[slot];
    if (!b || b.minute !== minute) {
      // The slot held a minute a day older (or nothing): start it afresh.
      b = { minute, counts: zeroCounts(), byModel: new Map(), latencies: [], seen: 0 };
      this.ring[slot] = b;
    }
    return b;
  }

  recordGuardDecisions(decisions: ReadonlyArray<{ stage: string; check: string; action: string }>): void {
    for (const d of decisions) {
      const key = `${d.stage}/${d.check}/${d.action}`;
      this.guardCounts.set(key, (this.guardCounts.get(key) ?? 0) + 1);
    }
  }

  record(e: StatsEvent): void {
    const nowMs = this.now();
    const at = Math.min(e.time ?? nowMs, nowMs);
    const minute = Math.floor(at / MINUTE_MS);
    const oldestMinute = Math.floor(nowMs / MINUTE_MS) - WINDOW_MINUTES + 1;
    if (minute >= oldestMinute) {
      const b = this.bucketFor(minute);
      const delta = eventDelta(e);
      addInto(b.counts, delta);
      let perModel = b.byModel.get(e.model);
      if (!perModel) b.byModel.set(e.model, (perModel = zeroCounts()));
      addInto(perModel, delta);
      this.sampleLatency(b, e.latencyMs);
    }
    if (this.recentLimit > 0) this.remember(e, at);
  }

  /** Algorithm R: every latency of the minute has the same chance to be kept. */
  private sampleLatency(b: Bucket, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    b.seen++;
    if (b.latencies.length < LATENCY_SAMPLES_PER_MINUTE) {
      b.latencies.push(ms);
      return;
    }
    const j = Math.floor(this.random() * b.seen);
    if (j < LATENCY_SAMPLES_PER_MINUTE) b.latencies[j] = ms;
  }

  private remember(e: StatsEvent, at: number): void {
    const r: RecentRequest = {
      requestId: e.requestId,
      t: new Date(at).toISOString(),
      tenant: e.tenant,
      model: e.model,
      cacheStatus: e.cacheStatus,
      status: e.status,
      similarity: typeof e.similarity === 'number' && Number.isFinite(e.similarity) ? e.similarity : null,
      latencyMs: round3(Number.isFinite(e.latencyMs) ? e.latencyMs : 0),
      costUsd: whole(e.costMicroUsd) / 1e6,
      savedUsd: whole(e.savedMicroUsd) / 1e6,
      savedTokens: whole(e.savedTokens),
    };
    if (this.logPrompts && typeof e.prompt === 'string') r.prompt = e.prompt.slice(0, PROMPT_CHARS_KEPT);
    this.recent.unshift(r);
    if (this.recent.length > this.recentLimit) this.recent.length = this.recentLimit;
  }

  /** The buckets of the current window, oldest first. */
  private windowBuckets(nowMs: number): Bucket[] {
    const current = Math.floor(nowMs / MINUTE_MS);
    const out: Bucket[] = [];
    for (let m = current - WINDOW_MINUTES + 1; m <= current; m++) {
      const b = this.ring[((m % WINDOW_MINUTES) + WINDOW_MINUTES) % WINDOW_MINUTES];
      if (b && b.minute === m && b.counts.requests > 0) out.push(b);
    }
    return out;
  }

  snapshot(extra: { lifetime?: UsageTotals } = {}): StatsSnapshot {
    const nowMs = this.now();
    const buckets = this.windowBuckets(nowMs);
    const all = zeroCounts();
    const models = new Map<string, RawCounts>();
    const weighted: Array<{ value: number; weight: number }> = [];
    const series: SeriesPoint[] = buckets.map((b) => {
      addCounts(all, b.counts);
      for (const [model, c] of b.byModel) {
        let m = models.get(model);
        if (!m) models.set(model, (m = zeroCounts()));
        addCounts(m, c);
      }
      const weight = b.latencies.length ? b.seen / b.latencies.length : 0;
      for (const v of b.latencies) weighted.push({ value: v, weight });
      const own = b.latencies.map((value) => ({ value, weight: 1 }));
      return { t: isoMinute(b.minute), ...present(b.counts), ...this.percentiles(own) };
    });
    const topModels = [...models]
      .sort((a, b) => b[1].requests - a[1].requests || a[0].localeCompare(b[0]))
      .slice(0, 10)
      .map(([model, c]) => ({ model, ...present(c) }));
    const snap: StatsSnapshot = {
      generatedAt: new Date(nowMs).toISOString(),
      windowMinutes: WINDOW_MINUTES,
      from: isoMinute(Math.floor(nowMs / MINUTE_MS) - WINDOW_MINUTES + 1),
      startedAt: new Date(this.startedAt).toISOString(),
      totals: { ...present(all), ...this.percentiles(weighted) },
      series,
      recent: this.recent.map((r) => ({ ...r })),
      topModels,
      guardrails: [...this.guardCounts]
        .map(([key, count]) => {
          const [stage, check, action] = key.split('/') as [string, string, string];
          return { stage, check, action, count };
        })
        .sort((a, b) => b.count - a.count || `${a.stage}/${a.check}/${a.action}`.localeCompare(`${b.stage}/${b.check}/${b.action}`)),
      cache: this.cacheQuality.snapshot(),
    };
    if (extra.lifetime) snap.lifetime = extra.lifetime;
    return snap;
  }

  private percentiles(samples: Array<{ value: number; weight: number }>): { p50Ms: number | null; p95Ms: number | null } {
    const p50 = weightedPercentile(samples, 0.5);
    const p95 = weightedPercentile(samples, 0.95);
    return { p50Ms: p50 === null ? null : round3(p50), p95Ms: p95 === null ? null : round3(p95) };
  }
}
