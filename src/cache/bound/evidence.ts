/**
 * Evidence for error-bound mode: what verification calls and feedback found about cached entries.
 * Each entry keeps its own observations (the score its answer was compared at, and whether the
 * answer turned out wrong for that request), bounded to the most recent OBSERVATIONS_PER_ENTRY;
 * each namespace pools the observations of its entries in score buckets, for the prior an entry
 * with little evidence of its own is judged by.
 */

/** Observations kept per entry (most recent first out). */
export const OBSERVATIONS_PER_ENTRY = 64;
/** Score buckets of a namespace's pool: [0, 0.01), [0.01, 0.02), ... [0.99, 1]. */
export const POOL_BUCKETS = 100;

/**
 * One comparison: [score rounded to 4 digits, 1 if the cached answer was wrong for that request
 * else 0, 1 if the entry was the request's best candidate else 0]. Only best candidates feed the
 * namespace's pool: they are what the decision serves, and lower-ranked candidates at the same
 * score (a near-miss's entry behind the right one) are wrong more often.
 */
export type Observation = [number, 0 | 1, (0 | 1)?];

/** Stored with the entry (keyv namespace `evidence`, key = entry id). */
export interface EntryEvidence {
  obs: Observation[];
  /** Negative labels from POST /v1/cache/feedback (lifetime count; retirement reads it). */
  negativeFeedback: number;
}

export function emptyEvidence(): EntryEvidence {
  return { obs: [], negativeFeedback: 0 };
}

/** Whether a stored value has the shape of EntryEvidence (a store of another version may hold anything). */
export function isEvidence(v: unknown): v is EntryEvidence {
  const e = v as EntryEvidence | undefined;
  return (
    typeof e === 'object' &&
    e !== null &&
    Array.isArray(e.obs) &&
    e.obs.every((o) => Array.isArray(o) && typeof o[0] === 'number' && (o[1] === 0 || o[1] === 1) && (o[2] === undefined || o[2] === 0 || o[2] === 1)) &&
    typeof e.negativeFeedback === 'number'
  );
}

/** A copy of `e` with one more observation, the oldest dropped beyond the bound. */
export function withObservation(e: EntryEvidence | undefined, score: number, wrong: boolean, best = true): EntryEvidence {
  const obs: Observation[] = [...(e?.obs ?? []), [Math.round(clamp01(score) * 1e4) / 1e4, wrong ? 1 : 0, best ? 1 : 0]];
  return { obs: obs.slice(-OBSERVATIONS_PER_ENTRY), negativeFeedback: e?.negativeFeedback ?? 0 };
}

export function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

export function bucketOf(score: number): number {
  return Math.min(POOL_BUCKETS - 1, Math.floor(clamp01(score) * POOL_BUCKETS));
}

/** Observation counts of one namespace's entries by score bucket (in memory, derived from the entries). */
export class EvidencePool {
  readonly n = new Float64Array(POOL_BUCKETS);
  readonly wrong = new Float64Array(POOL_BUCKETS);

  add(e: EntryEvidence | undefined, sign: 1 | -1 = 1): void {
    if (!e) return;
    for (const [s, w, best] of e.obs) {
      if (best === 0) continue;
      const b = bucketOf(s);
      this.n[b] = Math.max(0, this.n[b]! + sign);
      this.wrong[b] = Math.max(0, this.wrong[b]! + sign * w);
    }
  }

  get total(): number {
    let t = 0;
    for (const v of this.n) t += v;
    return t;
  }

  get totalWrong(): number {
    let t = 0;
    for (const v of this.wrong) t += v;
    return t;
  }

  /**
   * Observations at scores at or below `score`, gathered from its bucket downwards until `target`
   * are found or `floor` is passed. The wrong-answer probability does not rise with the score, so
   * the wrong rate of observations at lower scores bounds the rate at `score` from above.
   */
  below(score: number, target: number, floor: number): { n: number; wrong: number; from: number } {
    let n = 0;
    let wrong = 0;
    let b = bucketOf(score);
    const last = bucketOf(floor);
    for (; b >= last; b--) {
      n += this.n[b]!;
      wrong += this.wrong[b]!;
      if (n >= target) break;
    }
    return { n, wrong, from: Math.max(b, last) / POOL_BUCKETS };
  }
}
