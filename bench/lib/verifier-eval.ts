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
import { cosine, recallAtPrecision, type Scored } from './metrics.js';

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
 * The served threshold: the lowest that keeps precision >= target on the scored pairs, rounded up
 * to 4 decimals, never below 0.5 (the floor x-cache-threshold accepts).
 */
export function thresholdAtPrecision(scores: number[], labels: boolean[], target: number): { threshold: number; precision: number; recall: number } | undefined {
  const items: Scored[] = scores.map((score, i) => ({ score, label: labels[i]! }));
  const op = recallAtPrecision(items, target);
  if (!Number.isFinite(op.threshold)) return undefined;
  const threshold = Math.max(0.5, Math.ceil(op.threshold * 1e4) / 1e4);
  let tp = 0;
  let fp = 0;
  let pos = 0;
  items.forEach((x) => {
    if (x.label) pos++;
    if (x.score >= threshold) x.label ? tp++ : fp++;
  });
  return { threshold, precision: tp + fp ? tp / (tp + fp) : NaN, recall: pos ? tp / pos : NaN };
}
