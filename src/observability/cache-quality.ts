import type { FeedbackOutcome } from '../cache/semantic-cache.js';
import type { RequestRecord } from '../http/chat-route.js';
import { CardinalityCap } from './cardinality-cap.js';
import type { GatewayMetrics } from './metrics.js';

/**
 * How good the cache's answers are, for GET /metrics and GET /v1/gateway/stats (the `cache` part):
 *  - error-bound mode, per namespace: the bound in force, lookups and hits, verification calls
 *    (outcome and cost) and feedback labels, and the observed wrong-answer rate: wrong over all
 *    checks of a cached answer (verification calls compare the best uncertain candidate with the
 *    fresh answer; feedback labels a served one);
 *  - threshold mode: the nearest candidate's score of every semantic lookup, in SCORE_BINS bins
 *    for hits and for misses, and the guard's (or verifier's) rejections by reason, what a person
 *    tuning CACHE_SIMILARITY_THRESHOLD reads.
 * Counted since the process started, in memory; O(1) per request, nothing allocated per request
 * but prom-client's label lookups.
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
  return reason.split(':')[0]!.trim().slice(0, 40) || 'other';
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
  private readonly reasons = new Map<string, number>();
  private exactHits = 0;
  private noCandidate = 0;

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
    } else (result === 'semantic-hit' ? this.hitScores : this.missScores)[scoreBin(nearest)]!++;
  }

  rejection(kind: string): void {
    const key = this.reasons.has(kind) || this.reasons.size < MAX_REASONS ? kind : 'other';
    this.reasons.set(key, (this.reasons.get(key) ?? 0) + 1);
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
        rejections: [...this.reasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
      },
    };
  }
}

/**
 * Feeds finished requests and feedback labels to the cache-quality metrics and stats. One
 * namespace cap for both, so a namespace has the same label in metrics and stats.
 */
export function createCacheQualityObserver(parts: { metrics: GatewayMetrics; quality: CacheQualityStats }) {
  const { metrics, quality } = parts;
  const namespaces = new CardinalityCap(MAX_NAMESPACES_TRACKED);
  const setRate = (namespace: string) => {
    const rate = quality.observedErrorRate(namespace);
    if (rate !== null) metrics.observedErrorRate.set({ namespace }, rate);
  };
  return {
    onRecord(r: RequestRecord): void {
      if (r.cacheStatus === 'bypass') return;
      // A coalesced request was served the leader's answer: its own lookup missed.
      const status = r.coalesced ? 'miss' : r.cacheStatus;
      if (r.bound) {
        const namespace = namespaces.label(r.namespace);
        let outcome: VerificationOutcome | undefined;
        let cost = 0;
        // Only the request that went upstream made the call (a coalesced one waited for it).
        if (r.bound.verify && !r.coalesced) {
          const best = r.verification?.[0];
          outcome = best ? (best.equivalent ? 'equivalent' : 'different') : 'failed';
          cost = r.accounting?.costMicroUsd ?? 0;
          metrics.verifications.inc({ namespace, outcome });
          if (cost > 0) metrics.verificationCostUsd.inc({ namespace }, cost / 1e6);
          if (best) metrics.answerChecks.inc({ namespace, source: 'verification', outcome: best.equivalent ? 'right' : 'wrong' });
        }
        if (r.bound.verifySkipped) metrics.verificationsSkipped.inc({ namespace });
        metrics.boundLookups.inc({ namespace, cache: r.cacheStatus });
        metrics.maxErrorRate.set({ namespace }, r.bound.maxError);
        quality.boundLookup(namespace, r.bound.maxError, r.cacheStatus, outcome, cost, r.bound.verifySkipped === true);
        if (outcome && outcome !== 'failed') setRate(namespace);
      } else {
        if (status === 'hit') quality.thresholdLookup('exact', undefined);
        else {
          quality.thresholdLookup(status, r.nearestSimilarity);
          if (r.nearestSimilarity !== undefined) metrics.nearestScore.observe({ result: status === 'semantic-hit' ? 'hit' : 'miss' }, Math.max(0, r.nearestSimilarity));
        }
        for (const g of r.guardRejections) quality.rejection(reasonKind(g.reason));
      }
    },
    onFeedback(outcome: Extract<FeedbackOutcome, { found: true }>, correct: boolean): void {
      const namespace = namespaces.label(outcome.served.namespace);
      metrics.feedbackLabels.inc({ namespace, label: correct ? 'correct' : 'wrong' });
      metrics.answerChecks.inc({ namespace, source: 'feedback', outcome: correct ? 'right' : 'wrong' });
      quality.feedback(namespace, correct, outcome.entryRetired);
      setRate(namespace);
    },
  };
}
