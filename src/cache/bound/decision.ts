/**
 * The error-bound decision for one candidate: serve the cached answer only when the probability
 * that it is wrong for this request is, with 95% confidence, at most the bound.
 *
 * The wrong-answer probability of an entry does not rise with the score (a closer paraphrase is
 * not more likely to want another answer), so observations at or below a score bound the rate at
 * that score from above. Two ways to pass:
 *  - the namespace's pooled observations at and just below the score (plus the global prior, the
 *    score read as the probability that both prompts ask the same question, worth PRIOR_WEIGHT
 *    observations) give an upper bound <= bound, and the entry's own observations near the score
 *    (shrunk toward the pool's rate) do not say otherwise: one wrong answer near the score keeps
 *    the entry out until ~50 good ones outweigh it;
 *  - or the entry's own observations alone give an upper bound <= bound (a much-asked entry earns
 *    a lower score than its namespace, as in vCache's per-entry thresholds).
 */
import { upperBound } from './beta.js';
import { clamp01, type EntryEvidence, type EvidencePool } from './evidence.js';

export const CONFIDENCE = 0.95;
/** Pseudo-observations the global prior is worth: little, so traffic soon decides. */
export const PRIOR_WEIGHT = 2;
/**
 * The pool gathers observations from the score's bucket downwards until it has POOL_TARGET_FACTOR
 * times the clean observations the bound needs (so the window stays as close to the score as the
 * evidence allows), or reaches POOL_SPAN below the score.
 */
export const POOL_TARGET_FACTOR = 1.25;
export const POOL_SPAN = 0.2;

const needed = new Map<number, number>();
/** Observations, none wrong, that bring the upper bound to `bound` (95 for 0.02). */
export function cleanObservationsFor(bound: number): number {
  let n = needed.get(bound);
  if (n === undefined) {
    n = 0;
    if (bound <= 0) n = Infinity;
    else while (n < 100_000 && upperBound(0, n, CONFIDENCE) > bound) n++;
    needed.set(bound, n);
  }
  return n;
}
/** An entry's own observations count from this far below the score (wrong answers above it always count). */
export const ENTRY_SPAN = 0.15;
/** Weight of the pool's rate when shrinking an entry's own observations. */
export const ENTRY_PRIOR_WEIGHT = 10;

export interface BoundDecision {
  serve: boolean;
  /** The upper bound on the wrong-answer probability that decided (for logs and headers). */
  estimate: number;
  /** The point estimate of the wrong-answer probability (pool and prior, shrunk by the entry's own). */
  mean: number;
  /** Pooled observations (and wrong ones) the decision read, the entry's own near the score. */
  pool: { n: number; wrong: number };
  entry: { n: number; wrong: number };
}

export function decide(score: number, bound: number, entry: EntryEvidence | undefined, pool: EvidencePool | undefined, floor: number): BoundDecision {
  const s = clamp01(score);
  const prior = 1 - s;
  const target = Math.ceil(POOL_TARGET_FACTOR * cleanObservationsFor(bound));
  const pooled = pool ? pool.below(s, target, Math.max(floor, s - POOL_SPAN)) : { n: 0, wrong: 0 };
  const poolN = pooled.n + PRIOR_WEIGHT;
  const poolWrong = pooled.wrong + PRIOR_WEIGHT * prior;
  const poolUpper = upperBound(poolWrong, poolN, CONFIDENCE);
  let n = 0;
  let wrong = 0;
  for (const [si, w] of entry?.obs ?? []) {
    if ((si <= s && si >= s - ENTRY_SPAN) || (w === 1 && si > s)) {
      n++;
      wrong += w;
    }
  }
  const shrunk = (wrong + ENTRY_PRIOR_WEIGHT * (poolWrong / poolN)) / (n + ENTRY_PRIOR_WEIGHT);
  const entryUpper = n > 0 ? upperBound(wrong, n, CONFIDENCE) : 1;
  const viaPool = Math.max(poolUpper, shrunk);
  const serve = viaPool <= bound || entryUpper <= bound;
  return { serve, estimate: Math.min(viaPool, entryUpper), mean: shrunk, pool: { n: pooled.n, wrong: pooled.wrong }, entry: { n, wrong } };
}
