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
export const PRIOR_WEIGHT = 10;
/** The pool gathers this many observations below a score, or reaches POOL_SPAN below it. */
export const POOL_TARGET = 400;
export const POOL_SPAN = 0.2;
/** An entry's own observations count from this far below the score (wrong answers above it always count). */
export const ENTRY_SPAN = 0.15;
/** Weight of the pool's rate when shrinking an entry's own observations. */
export const ENTRY_PRIOR_WEIGHT = 10;

export interface BoundDecision {
  serve: boolean;
  /** The upper bound on the wrong-answer probability that decided (for logs and headers). */
  estimate: number;
  /** Pooled observations (and wrong ones) the decision read, the entry's own near the score. */
  pool: { n: number; wrong: number };
  entry: { n: number; wrong: number };
}

export function decide(score: number, bound: number, entry: EntryEvidence | undefined, pool: EvidencePool | undefined, floor: number): BoundDecision {
  const s = clamp01(score);
  const prior = 1 - s;
  const pooled = pool ? pool.below(s, POOL_TARGET, Math.max(floor, s - POOL_SPAN)) : { n: 0, wrong: 0 };
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
  return { serve, estimate: Math.min(viaPool, entryUpper), pool: { n: pooled.n, wrong: pooled.wrong }, entry: { n, wrong } };
}
