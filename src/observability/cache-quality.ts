import type { FeedbackOutcome } from '../cache/semantic-cache.js';
import type { RequestRecord } from '../http/chat-route.js';
import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import { CardinalityCap } from './cardinality-cap.js';

/**
 * How good the cache's answers are, for GET /metrics and GET /v1/gateway/stats (the `cache` part):
 *  - error-bound mode, per namespace: the bound in force, lookups and hits, verification calls
 *    (outcome and cost) and feedback labels, and the observed wrong-answer rate: wrong over all
 *    checks of a cached answer (verification calls compare the best uncertain candidate with the
 *    fresh answer; feedback labels a served one);
 *  - threshold mode: the nearest candidate's score of every semantic lookup, in SCORE_BINS bins
 *    for hits and for misses, and the guard's (or verifier's) rejections by reason, what a person
 *    tuning CACHE_SIMILARITY_THRESHOLD reads.
 * Counted since the process started, in memory: a request costs a map lookup and a few additions
 * (no label objects, no prom-client call: a labelled prom-client update costs ~1 µs); the
 * Prometheus series are read from these counts at scrape time (registerCacheQualityMetrics).
 */

/** Score bins of the threshold-mode histogram: bin i counts scores in [i/20, (i+1)/20), the last one includes 1. */
export const SCORE_BINS = 20;
/** Namespaces kept by name (clients choose them); the rest count as "other". */
export const MAX_NAMESPACES_TRACKED = 100;
/** Distinct rejection reasons kept (guard and verifier reasons are a small fixed set). */
const MAX_REASONS = 50;

export type VerificationOutcome = 'equivalent' | 'different' | 'failed';

/** Guard reasons look like "number-mismatch: 2 vs 3"; only the kind is a label. */
export function reasonKind(reason: string): string {
  const colon = reason.indexOf(':');
  return (colon < 0 ? reason : reason.slice(0, colon)).trim().slice(0, 40) || 'other';
}

/** The bin of a score: scores below 0 (cosine) count in the first, 1 in the last. */
export function scoreBin(score: number): number {
  if (!(score > 0)) return 0;
  return Math.min(SCORE_BINS - 1, Math.floor(score * SCORE_BINS));
}

interface NamespaceCounts {
  maxErrorRate: number | null;
  lookups: number;
  hits: number;
  semanticHits: number;
  misses: number;
  verifyCalls: number;
  equivalent: number;
  different: number;
  failed: number;
  skipped: number;
  costMicroUsd: number;
  feedbackCorrect: number;
  feedbackWrong: number;
  retired: number;
}

export interface NamespaceQuality {
  namespace: string;
  /** The bound of the namespace's latest error-bound lookup (null: none yet, only feedback). */
  maxErrorRate: number | null;
  /** Error-bound lookups and their results. */
  lookups: number;
  hits: number;
  semanticHits: number;
  misses: number;
  hitRatio: number | null;
  verification: {
    /** Verification calls; each compares the fresh answer with the best uncertain candidate's. */
    calls: number;
    equivalent: number;
    different: number;
    /** The upstream failed, or the comparison did: nothing learned. */
    failed: number;
    /** Uncertain candidates left as plain misses: CACHE_VERIFY_MAX_RATE was reached. */
    skipped: number;
    costUsd: number;
  };
  feedback: { correct: number; wrong: number; entriesRetired: number };
  /** Checks of a cached answer: verification comparisons plus feedback labels. */
  observations: number;
  /** Of those, the cached answer was wrong: `different` plus feedback `wrong`. */
  wrong: number;
  /** wrong / observations; null with no observation. */
  observedErrorRate: number | null;
}

export interface ThresholdQuality {
  /** The default threshold (CACHE_SIMILARITY_THRESHOLD or the model's); requests may send their own. */
  threshold: number | null;
  bins: number;
  /** Threshold-mode lookups: exact hits, semantic hits, misses (coalesced requests count as misses here: their lookup missed). */
  lookups: number;
  exactHits: number;
  semanticHits: number;
  misses: number;
  /** Misses with no candidate at all (an empty scope, or nothing to embed). */
  noCandidate: number;
  /** Semantic hits by the nearest candidate's score, bin i = [i/bins, (i+1)/bins). */
  hitScores: number[];
  /** Misses that had a candidate, by its score. */
  missScores: number[];
  /** Candidates the guard (or the verifier) turned down, by reason, most first. */
  rejections: Array<{ reason: string; count: number }>;
}

export interface CacheQualitySnapshot {
  namespaces: NamespaceQuality[];
  threshold: ThresholdQuality;
}

export interface CacheQualityOptions {
  threshold?: number;
}

const emptyNamespace = (): NamespaceCounts => ({
  maxErrorRate: null,
  lookups: 0,
  hits: 0,
  semanticHits: 0,
  misses: 0,
  verifyCalls: 0,
  equivalent: 0,
  different: 0,
  failed: 0,
  skipped: 0,
  costMicroUsd: 0,
  feedbackCorrect: 0,
  feedbackWrong: 0,
  retired: 0,
});

/** The in-memory counts behind the `cache` part of the stats. Namespaces arrive already capped. */
export class CacheQualityStats {
  private readonly namespaces = new Map<string, NamespaceCounts>();
  private readonly hitScores = new Array<number>(SCORE_BINS).fill(0);
  private readonly missScores = new Array<number>(SCORE_BINS).fill(0);
  /** Counts by reason kind (at most MAX_REASONS + 1 entries). */
  private readonly reasons: Array<{ reason: string; count: number }> = [];
  private exactHits = 0;
  private noCandidate = 0;
  /** Sums of the binned scores (for the Prometheus histogram's _sum). */
  private hitScoreSum = 0;
  private missScoreSum = 0;

  constructor(private readonly options: CacheQualityOptions = {}) {}

  private ns(namespace: string): NamespaceCounts {
    let c = this.namespaces.get(namespace);
    if (!c) this.namespaces.set(namespace, (c = emptyNamespace()));
    return c;
  }

  /** One error-bound lookup; `verification` when it was a verification call, `costMicroUsd` what that call paid. */
  boundLookup(namespace: string, maxErrorRate: number, status: 'hit' | 'semantic-hit' | 'miss', verification?: VerificationOutcome, costMicroUsd = 0, skipped = false): void {
    const c = this.ns(namespace);
    c.maxErrorRate = maxErrorRate;
    c.lookups++;
    if (status === 'hit') c.hits++;
    else if (status === 'semantic-hit') c.semanticHits++;
    else c.misses++;
    if (verification) {
      c.verifyCalls++;
      c[verification]++;
      if (costMicroUsd > 0) c.costMicroUsd += costMicroUsd;
    }
    if (skipped) c.skipped++;
  }

  feedback(namespace: string, correct: boolean, retired: boolean): void {
    const c = this.ns(namespace);
    if (correct) c.feedbackCorrect++;
    else c.feedbackWrong++;
    if (retired) c.retired++;
  }

  /** Wrong over all checks of the namespace's cached answers; null with none. */
  observedErrorRate(namespace: string): number | null {
    const c = this.namespaces.get(namespace);
    if (!c) return null;
    const n = c.equivalent + c.different + c.feedbackCorrect + c.feedbackWrong;
    return n === 0 ? null : (c.different + c.feedbackWrong) / n;
  }

  /** One threshold-mode lookup: an exact hit, or a semantic lookup with its nearest score (undefined: no candidate). */
  thresholdLookup(result: 'exact' | 'semantic-hit' | 'miss', nearest: number | undefined): void {
    if (result === 'exact') this.exactHits++;
    else if (nearest === undefined || !Number.isFinite(nearest)) {
      // A semantic hit always has a candidate; a miss may have none.
      this.noCandidate++;
    } else if (result === 'semantic-hit') {
      this.hitScores[scoreBin(nearest)]!++;
      this.hitScoreSum += Math.max(0, nearest);
    } else {
      this.missScores[scoreBin(nearest)]!++;
      this.missScoreSum += Math.max(0, nearest);
    }
  }

  /** Sums of the scores counted in hitScores and missScores. */
  get scoreSums(): { hit: number; miss: number } {
    return { hit: this.hitScoreSum, miss: this.missScoreSum };
  }

  /**
   * One rejected candidate, by its full reason ("number-mismatch: 2 vs 3"); counted under the
   * reason's kind. The kinds are a handful: found by a scan that allocates nothing.
   */
  rejection(reason: string): void {
    for (const r of this.reasons) {
      if (reason.startsWith(r.reason) && (reason.length === r.reason.length || reason.charCodeAt(r.reason.length) === 58 /* : */ || reason.charCodeAt(r.reason.length) === 32)) {
        r.count++;
        return;
      }
    }
    // A property name is an internalized flat string: later startsWith() compare fast against it.
    const kind = Object.keys({ [reasonKind(reason)]: 0 })[0]!;
    let r = this.reasons.find((x) => x.reason === kind);
    if (!r && this.reasons.length >= MAX_REASONS) r = this.reasons.find((x) => x.reason === 'other');
    if (!r) this.reasons.push((r = { reason: this.reasons.length >= MAX_REASONS ? 'other' : kind, count: 0 }));
    r.count++;
  }

  snapshot(): CacheQualitySnapshot {
    const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
    const semanticHits = sum(this.hitScores);
    const misses = sum(this.missScores) + this.noCandidate;
    return {
      namespaces: [...this.namespaces]
        .map(([namespace, c]) => {
          const lookups = c.hits + c.semanticHits + c.misses;
          const observations = c.equivalent + c.different + c.feedbackCorrect + c.feedbackWrong;
          const wrong = c.different + c.feedbackWrong;
          return {
            namespace,
            maxErrorRate: c.maxErrorRate,
            lookups: c.lookups,
            hits: c.hits,
            semanticHits: c.semanticHits,
            misses: c.misses,
            hitRatio: lookups === 0 ? null : (c.hits + c.semanticHits) / lookups,
            verification: { calls: c.verifyCalls, equivalent: c.equivalent, different: c.different, failed: c.failed, skipped: c.skipped, costUsd: c.costMicroUsd / 1e6 },
            feedback: { correct: c.feedbackCorrect, wrong: c.feedbackWrong, entriesRetired: c.retired },
            observations,
            wrong,
            observedErrorRate: observations === 0 ? null : wrong / observations,
          };
        })
        .sort((a, b) => b.lookups - a.lookups || a.namespace.localeCompare(b.namespace)),
      threshold: {
        threshold: this.options.threshold ?? null,
        bins: SCORE_BINS,
        lookups: this.exactHits + semanticHits + misses,
        exactHits: this.exactHits,
        semanticHits,
        misses,
        noCandidate: this.noCandidate,
        hitScores: [...this.hitScores],
        missScores: [...this.missScores],
        rejections: this.reasons.map((r) => ({ ...r })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
      },
    };
  }
}

/**
 * Feeds finished requests and feedback labels to the cache-quality counts, under one namespace
 * cap (so a namespace has the same name in metrics and stats).
 */
export function createCacheQualityObserver(quality: CacheQualityStats) {
  const namespaces = new CardinalityCap(MAX_NAMESPACES_TRACKED);
  return {
    onRecord(r: RequestRecord): void {
      if (r.cacheStatus === 'bypass') return;
      if (r.bound) {
        let outcome: VerificationOutcome | undefined;
        // Only the request that went upstream made the call (a coalesced one waited for it).
        if (r.bound.verify && !r.coalesced) {
          const best = r.verification?.[0];
          outcome = best ? (best.equivalent ? 'equivalent' : 'different') : 'failed';
        }
        quality.boundLookup(namespaces.label(r.namespace), r.bound.maxError, r.cacheStatus, outcome, outcome ? (r.accounting?.costMicroUsd ?? 0) : 0, r.bound.verifySkipped === true);
        return;
      }
      // A coalesced request was served the leader's answer: its own lookup missed.
      const status = r.coalesced ? 'miss' : r.cacheStatus;
      if (status === 'hit') quality.thresholdLookup('exact', undefined);
      else quality.thresholdLookup(status, r.nearestSimilarity);
      for (const g of r.guardRejections) quality.rejection(g.reason);
    },
    onFeedback(outcome: Extract<FeedbackOutcome, { found: true }>, correct: boolean): void {
      quality.feedback(namespaces.label(outcome.served.namespace), correct, outcome.entryRetired);
    },
  };
}

/**
 * The cache-quality series of GET /metrics, read from `quality` at scrape time (so the request
 * path never calls prom-client for them). Counters are cumulative since the process started:
 *  - {p}cache_bound_lookups_total{namespace,cache}: error-bound lookups by result (hit, semantic-hit, miss);
 *  - {p}cache_verifications_total{namespace,outcome}: verification calls (equivalent, different, failed);
 *  - {p}cache_verification_cost_usd_total{namespace}: what they paid upstream;
 *  - {p}cache_verifications_skipped_total{namespace}: uncertain candidates left as misses at CACHE_VERIFY_MAX_RATE;
 *  - {p}cache_answer_checks_total{namespace,source,outcome}: checks of a cached answer (verification, feedback; right, wrong);
 *  - {p}cache_feedback_total{namespace,label}: feedback labels (correct, wrong);
 *  - gauges {p}cache_observed_error_rate{namespace} (wrong / checks) and {p}cache_max_error_rate{namespace} (the bound);
 *  - histogram {p}cache_nearest_score{result}: threshold mode, the nearest score of semantic hits and misses,
 *    buckets every 1/SCORE_BINS (the stats' bins: bucket le=x counts scores below x, +Inf all).
 */
export function registerCacheQualityMetrics(registry: Registry, quality: CacheQualityStats, prefix = 'gateway_'): void {
  const registers = [registry];
  // Set from the counts at every scrape; zero series are left out, as elsewhere.
  const fromCounts = <L extends string>(name: string, help: string, labelNames: L[], read: (n: NamespaceQuality, put: (labels: Record<L, string>, v: number) => void) => void) =>
    new Counter<L>({
      name: prefix + name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const n of quality.snapshot().namespaces) read(n, (labels, v) => v > 0 && this.inc(labels as never, v));
      },
    });
  fromCounts('cache_bound_lookups_total', 'Error-bound mode lookups by namespace and result (hit, semantic-hit, miss).', ['namespace', 'cache'], (n, put) => {
    put({ namespace: n.namespace, cache: 'hit' }, n.hits);
    put({ namespace: n.namespace, cache: 'semantic-hit' }, n.semanticHits);
    put({ namespace: n.namespace, cache: 'miss' }, n.misses);
  });
  fromCounts('cache_verifications_total', 'Verification calls (error-bound mode) by namespace and what the fresh answer said of the best candidate: equivalent, different, or failed.', ['namespace', 'outcome'], (n, put) => {
    for (const outcome of ['equivalent', 'different', 'failed'] as const) put({ namespace: n.namespace, outcome }, n.verification[outcome]);
  });
  fromCounts('cache_verification_cost_usd_total', 'US dollars the verification calls paid upstream (from the price table), by namespace.', ['namespace'], (n, put) =>
    put({ namespace: n.namespace }, n.verification.costUsd),
  );
  fromCounts('cache_verifications_skipped_total', 'Uncertain candidates left as plain misses because CACHE_VERIFY_MAX_RATE was reached, by namespace.', ['namespace'], (n, put) =>
    put({ namespace: n.namespace }, n.verification.skipped),
  );
  fromCounts('cache_answer_checks_total', 'Cached answers checked, by namespace, source (verification, feedback) and outcome (right, wrong).', ['namespace', 'source', 'outcome'], (n, put) => {
    put({ namespace: n.namespace, source: 'verification', outcome: 'right' }, n.verification.equivalent);
    put({ namespace: n.namespace, source: 'verification', outcome: 'wrong' }, n.verification.different);
    put({ namespace: n.namespace, source: 'feedback', outcome: 'right' }, n.feedback.correct);
    put({ namespace: n.namespace, source: 'feedback', outcome: 'wrong' }, n.feedback.wrong);
  });
  fromCounts('cache_feedback_total', 'POST /v1/cache/feedback labels taken, by namespace and label (correct, wrong).', ['namespace', 'label'], (n, put) => {
    put({ namespace: n.namespace, label: 'correct' }, n.feedback.correct);
    put({ namespace: n.namespace, label: 'wrong' }, n.feedback.wrong);
  });
  const gauge = (name: string, help: string, read: (n: NamespaceQuality) => number | null) =>
    new Gauge({
      name: prefix + name,
      help,
      labelNames: ['namespace'] as const,
      registers,
      collect() {
        this.reset();
        for (const n of quality.snapshot().namespaces) {
          const v = read(n);
          if (v !== null) this.set({ namespace: n.namespace }, v);
        }
      },
    });
  gauge('cache_observed_error_rate', 'Wrong over all checks of a cached answer (verification calls and feedback) since start, per namespace.', (n) => n.observedErrorRate);
  gauge('cache_max_error_rate', "The error bound of the namespace's latest error-bound lookup (CACHE_MAX_ERROR_RATE or x-cache-max-error).", (n) => n.maxErrorRate);

  // A histogram made from the stats' bins (prom-client's Histogram takes one observation at a time).
  const name = prefix + 'cache_nearest_score';
  const help = "Threshold mode: the nearest candidate's score per semantic lookup, by result (hit, miss).";
  const histogram = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    reset() {},
    get() {
      const t = quality.snapshot().threshold;
      const sums = quality.scoreSums;
      const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
      for (const [result, bins, sum] of [['hit', t.hitScores, sums.hit], ['miss', t.missScores, sums.miss]] as const) {
        let cumulative = 0;
        for (let i = 0; i < bins.length; i++) {
          cumulative += bins[i]!;
          const le = i === bins.length - 1 ? '+Inf' : Math.round(((i + 1) / bins.length) * 1e4) / 1e4;
          values.push({ metricName: `${name}_bucket`, labels: { le, result }, value: cumulative });
        }
        values.push({ metricName: `${name}_sum`, labels: { result }, value: sum });
        values.push({ metricName: `${name}_count`, labels: { result }, value: cumulative });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
  registry.registerMetric(histogram as unknown as Metric);
}
