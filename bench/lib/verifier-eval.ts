/**
 * Scores labelled pairs the way the cache decides: the embedding cosine of the two prompts, then
 * the verifier's probability (src/cache/verify), compared with a threshold. Shared by
 * bench/train-verifier.ts, bench/calibrate.ts and bench/eval-embedder.ts.
 */
import { createGuard } from '../../src/cache/guard.js';
import { read, type WordSimilarity } from '../../src/cache/verify/alignment.js';
import { pairFeatures } from '../../src/cache/verify/features.js';
import { createVerifier } from '../../src/cache/verify/verifier.js';
import type { VerifierWeights } from '../../src/cache/verify/scorer.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import { embedAll } from './evaluate.js';
import { cosine } from './metrics.js';

export interface Pair {
  a: string;
  b: string;
  label: boolean;
}

export async function cosines(embedder: Embedder, pairs: Pair[]): Promise<number[]> {
  const vectors = await embedAll(embedder, pairs.flatMap((p) => [p.a, p.b]), 64);
  return pairs.map((p) => cosine(vectors.get(p.a)!, vectors.get(p.b)!));
}

export function featureMatrix(pairs: Pair[], cos: number[], wordSimilarity?: WordSimilarity): Float64Array[] {
  const guard = createGuard({ wordSimilarity });
  const ctx = { wordSimilarity, findings: (a: string, b: string) => guard.findings(a, b) };
  return pairs.map((p, i) => pairFeatures(cos[i]!, read(p.a), read(p.b), ctx).values);
}

/** The cache's score for each pair: the verifier probability (1 for identical texts). */
export function verifierScores(weights: VerifierWeights, pairs: Pair[], cos: number[], wordSimilarity?: WordSimilarity): number[] {
  const v = createVerifier(weights, { wordSimilarity });
  return pairs.map((p, i) => (cos[i]! < (weights.minCosine ?? -1) ? 0 : v.score(cos[i]!, p.a, p.b).score));
}

/**
 * One-sided 95% lower confidence bound (Wilson score) of a proportion `ok` of `n`: the precision
 * the hits at a threshold show with a margin for how few there are.
 */
export function wilsonLower(ok: number, n: number, z = 1.645): number {
  if (n === 0) return 0;
  const p = ok / n;
  const z2 = z * z;
  return (p + z2 / (2 * n) - z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
}

/**
 * The served threshold: the lowest (most recall) at which the precision of the hits is at least
 * `target` with 95% confidence (Wilson lower bound, not the point estimate: on a dev split of a
 * few hundred pairs one lucky pair would otherwise decide), rounded down to 4 decimals (so the
 * pair at the boundary still hits), never below 0.5 (the floor x-cache-threshold accepts).
 */
export function thresholdAtPrecision(scores: number[], labels: boolean[], target: number): { threshold: number; precision: number; recall: number; lowerBound: number } | undefined {
  const order = scores.map((_, i) => i).sort((i, j) => scores[j]! - scores[i]!);
  const pos = labels.filter(Boolean).length;
  let tp = 0;
  let fp = 0;
  let best: number | undefined;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    labels[i] ? tp++ : fp++;
    // Only at the end of a run of equal scores: a threshold takes all of them.
    if (k + 1 < order.length && scores[order[k + 1]!] === scores[i]) continue;
    if (wilsonLower(tp, tp + fp) >= target) best = scores[i];
  }
  if (best === undefined) return undefined;
  const threshold = Math.max(0.5, Math.floor(best * 1e4) / 1e4);
  tp = 0;
  fp = 0;
  scores.forEach((s, i) => {
    if (s >= threshold) labels[i] ? tp++ : fp++;
  });
  return { threshold, precision: tp + fp ? tp / (tp + fp) : NaN, recall: pos ? tp / pos : NaN, lowerBound: wilsonLower(tp, tp + fp) };
}
