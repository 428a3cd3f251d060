/**
 * Scores an embedder (with and without the guard) and the lexical baselines on labelled pair
 * sets. Shared by bench/eval-embedder.ts and any later benchmark.
 */
import type { Embedder } from '../../src/embedding/embedder.js';
import type { Guard } from '../../src/cache/guard.js';
import { CharNgramTfidf, exactMatchScore } from './baselines.js';
import { cosine, recallAtPrecision, rocAuc, type Scored } from './metrics.js';
import type { PairSet } from './datasets.js';

export const PRECISION_TARGETS = [0.95, 0.97, 0.99] as const;
/** Score given to pairs the guard rejects: below any cosine, so never a hit. */
export const GUARD_REJECTED = -2;

export interface MethodResult {
  rocAuc: number;
  /** recall at precision >= target, keyed "0.95" | "0.97" | "0.99". */
  recallAt: Record<string, number>;
  thresholdAt: Record<string, number>;
  /** Share of positive pairs the guard rejected (guarded methods only). */
  guardRejectedPositives?: number;
  guardRejectedNegatives?: number;
}

export interface SetResult {
  name: string;
  description: string;
  positives: number;
  negatives: number;
  methods: Record<string, MethodResult>;
}

export interface PairScores {
  set: string;
  model: Scored[];
  modelGuarded: Scored[];
}

function summarize(items: Scored[], floor = -Infinity): MethodResult {
  const recallAt: Record<string, number> = {};
  const thresholdAt: Record<string, number> = {};
  for (const p of PRECISION_TARGETS) {
    const op = recallAtPrecision(items, p, floor);
    recallAt[String(p)] = op.recall;
    thresholdAt[String(p)] = op.threshold;
  }
  return { rocAuc: rocAuc(items), recallAt, thresholdAt };
}

export async function embedAll(embedder: Embedder, texts: string[], batchSize = 32): Promise<Map<string, Float32Array>> {
  const unique = [...new Set(texts)];
  const out = new Map<string, Float32Array>();
  for (let i = 0; i < unique.length; i += batchSize) {
    const batch = unique.slice(i, i + batchSize);
    const vecs = await embedder.embed(batch);
    batch.forEach((t, k) => out.set(t, vecs[k]!));
  }
  return out;
}

export async function evaluateSet(
  set: PairSet,
  embedder: Embedder,
  guard: Guard,
  modelLabel: string,
): Promise<{ result: SetResult; scores: PairScores }> {
  const texts = set.pairs.flatMap((p) => [p.a, p.b]);
  const vectors = await embedAll(embedder, texts);
  const tfidf = new CharNgramTfidf(new Set(texts));
  const model: Scored[] = [];
  const modelGuarded: Scored[] = [];
  const tf: Scored[] = [];
  const tfGuarded: Scored[] = [];
  const exact: Scored[] = [];
  let rejPos = 0;
  let rejNeg = 0;
  for (const p of set.pairs) {
    const cos = cosine(vectors.get(p.a)!, vectors.get(p.b)!);
    const ok = guard.agrees(p.a, p.b).ok;
    if (!ok) p.label ? rejPos++ : rejNeg++;
    const t = tfidf.similarity(p.a, p.b);
    model.push({ score: cos, label: p.label });
    modelGuarded.push({ score: ok ? cos : GUARD_REJECTED, label: p.label });
    tf.push({ score: t, label: p.label });
    tfGuarded.push({ score: ok ? t : GUARD_REJECTED, label: p.label });
    exact.push({ score: exactMatchScore(p.a, p.b), label: p.label });
  }
  const positives = set.pairs.filter((p) => p.label).length;
  const negatives = set.pairs.length - positives;
  const guardStats = { guardRejectedPositives: rejPos / Math.max(1, positives), guardRejectedNegatives: rejNeg / Math.max(1, negatives) };
  const methods: Record<string, MethodResult> = {
    [modelLabel]: summarize(model),
    [`${modelLabel} + guard`]: { ...summarize(modelGuarded, GUARD_REJECTED), ...guardStats },
    'tfidf-char3': summarize(tf),
    'tfidf-char3 + guard': { ...summarize(tfGuarded, GUARD_REJECTED), ...guardStats },
    'exact-match': summarize(exact, 0),
  };
  return { result: { name: set.name, description: set.description, positives, negatives, methods }, scores: { set: set.name, model, modelGuarded } };
}
