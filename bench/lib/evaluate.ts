/**
 * Scores an embedder (with and without the guard) and the lexical baselines on labelled pair
 * sets. Shared by bench/eval-embedder.ts and any later benchmark.
 */
import type { Embedder } from '../../src/embedding/embedder.js';
import type { Guard } from '../../src/cache/guard.js';
import { DEFAULT_HYBRID_WEIGHTS, hybridSimilarity, type HybridWeights } from '../../src/cache/hybrid-score.js';
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
  /** The score the cache uses: hybridSimilarity(cosine, a, b, weights). */
  hybrid: Scored[];
  hybridGuarded: Scored[];
}

export interface EvaluateOptions {
  /** Weights for the hybrid rows (default DEFAULT_HYBRID_WEIGHTS). */
  hybridWeights?: Readonly<HybridWeights>;
  /** Skip the TF-IDF and exact-match baselines (for weight sweeps). */
  skipBaselines?: boolean;
}

export function summarize(items: Scored[], floor = -Infinity): MethodResult {
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
  opts: EvaluateOptions = {},
): Promise<{ result: SetResult; scores: PairScores }> {
  const texts = set.pairs.flatMap((p) => [p.a, p.b]);
  const vectors = await embedAll(embedder, texts);
  return scoreSet(set, (a, b) => cosine(vectors.get(a)!, vectors.get(b)!), guard, modelLabel, opts);
}

/**
 * Scores a set given a cosine function (e.g. over precomputed vectors, so weight sweeps embed
 * once). The hybrid score is the cache's: the stored text is the pair's first text (`a`).
 */
export function scoreSet(
  set: PairSet,
  cosineOf: (a: string, b: string) => number,
  guard: Guard,
  modelLabel: string,
  opts: EvaluateOptions = {},
): { result: SetResult; scores: PairScores } {
  const weights = opts.hybridWeights ?? DEFAULT_HYBRID_WEIGHTS;
  const texts = set.pairs.flatMap((p) => [p.a, p.b]);
  const tfidf = opts.skipBaselines ? undefined : new CharNgramTfidf(new Set(texts));
  const model: Scored[] = [];
  const modelGuarded: Scored[] = [];
  const hybrid: Scored[] = [];
  const hybridGuarded: Scored[] = [];
  const tf: Scored[] = [];
  const tfGuarded: Scored[] = [];
  const exact: Scored[] = [];
  let rejPos = 0;
  let rejNeg = 0;
  for (const p of set.pairs) {
    const cos = cosineOf(p.a, p.b);
    const ok = guard.agrees(p.a, p.b).ok;
    if (!ok) p.label ? rejPos++ : rejNeg++;
    const h = hybridSimilarity(cos, p.a, p.b, weights);
    model.push({ score: cos, label: p.label });
    modelGuarded.push({ score: ok ? cos : GUARD_REJECTED, label: p.label });
    hybrid.push({ score: h, label: p.label });
    hybridGuarded.push({ score: ok ? h : GUARD_REJECTED, label: p.label });
    if (!tfidf) continue;
    const t = tfidf.similarity(p.a, p.b);
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
    [`${modelLabel} hybrid`]: summarize(hybrid),
    [`${modelLabel} hybrid + guard`]: { ...summarize(hybridGuarded, GUARD_REJECTED), ...guardStats },
  };
  if (tfidf) {
    methods['tfidf-char3'] = summarize(tf);
    methods['tfidf-char3 + guard'] = { ...summarize(tfGuarded, GUARD_REJECTED), ...guardStats };
    methods['exact-match'] = summarize(exact, 0);
  }
  return {
    result: { name: set.name, description: set.description, positives, negatives, methods },
    scores: { set: set.name, model, modelGuarded, hybrid, hybridGuarded },
  };
}
