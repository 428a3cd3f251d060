/**
 * `make train-verifier`: fits the cache's second stage (src/cache/verify) for the active model
 * (EMBED_MODEL, default static-wordnet-en): logistic regression over the pair features, on pairs
 * the project generates itself (bench/lib/verifier-training.ts; never shared/data, never
 * data/eval). Then calibrates the served threshold on the adversarial set's dev split at
 * precision 0.97 (as `make calibrate` does) and writes both to models/<model>/verifier.json,
 * a build artifact like the model itself. Prints the dev split per kind; the test split is not read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadWordSimilarity } from '../src/cache/word-similarity.js';
import { DEFAULT_EMBED_MODEL } from '../src/config.js';
import { FEATURE_NAMES } from '../src/cache/verify/features.js';
import type { VerifierWeights } from '../src/cache/verify/scorer.js';
import { createTransformersEmbedder } from '../src/embedding/transformers-embedder.js';
import { hitQuality, perKind, readEvalSplit } from './lib/adversarial.js';
import { repoRoot } from './lib/datasets.js';
import { rocAuc } from './lib/metrics.js';
import { trainingPairs, type TrainPair } from './lib/verifier-training.js';
import { createLexicon } from './lib/verifier-lexicon.js';
import { embedAll } from './lib/evaluate.js';
import { cosine } from './lib/metrics.js';
import type { Embedder } from '../src/embedding/embedder.js';
import { cosines, featureMatrix, thresholdAtPrecision, verifierScores } from './lib/verifier-eval.js';

const TARGET_PRECISION = 0.97;
/** Below this cosine a candidate is not scored (none of the training positives is that far). */
const MIN_COSINE = 0.2;
/** Features of the "same topic?" factor (the gate); the rest form the "same details?" factor. */
const TOPIC = new Set<string>(['cosine', 'lexical', 'coverMin', 'coverMax', 'unmatchedMin', 'unmatchedMax', 'synonymShare', 'chunkCover', 'idfCoverMin', 'idfCoverMax', 'questionCoverMin', 'questionCoverMax', 'questionUnmatchedMax']);
const POSITIVE = new Set<string>(['cosine', 'lexical', 'coverMin', 'coverMax', 'chunkCover', 'kept', 'synonymShare', 'idfCoverMin', 'idfCoverMax', 'questionCoverMin', 'questionCoverMax']);

const TOPIC_KINDS = new Set(['unrelated', 'shared-preamble', 'same-frame', 'same-entity', 'preamble-changed']);

/**
 * Fits p = sigmoid(details) * sigmoid(topic) (src/cache/verify/scorer.ts) by Adam on the
 * class-balanced log loss. Sign constraints (a prior, not a fit): more similarity or overlap never
 * lowers the score, and a mismatch or a swapped role never raises it; each feature belongs to one
 * factor.
 */
function fitNoisyAnd(x: Float64Array[], y: boolean[], l2 = 1e-3, epochs = 2500): Omit<VerifierWeights, 'features'> {
  const n = x.length;
  const d = x[0]!.length;
  const mean = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(0);
  for (const row of x) row.forEach((v, j) => (mean[j]! += v / n));
  for (const row of x) row.forEach((v, j) => (scale[j]! += (v - mean[j]!) ** 2 / n));
  for (let j = 0; j < d; j++) scale[j] = Math.sqrt(scale[j]!) || 1;
  const z = x.map((row) => Float64Array.from(row, (v, j) => (v - mean[j]!) / scale[j]!));
  const pos = y.filter(Boolean).length;
  const wPos = n / (2 * pos);
  const wNeg = n / (2 * (n - pos));
  // Parameters: [details weights (d), details bias, topic weights (d), topic bias].
  const P = 2 * d + 2;
  const theta = new Float64Array(P);
  theta[d] = 1;
  theta[2 * d + 1] = 1;
  const lo = new Float64Array(P).fill(-Infinity);
  const hi = new Float64Array(P).fill(Infinity);
  FEATURE_NAMES.forEach((f, j) => {
    const inTopic = TOPIC.has(f);
    for (const [off, mine] of [[0, !inTopic], [d + 1, inTopic]] as const) {
      if (!mine) lo[off + j] = hi[off + j] = 0;
      else if (POSITIVE.has(f)) lo[off + j] = 0;
      else hi[off + j] = 0;
    }
  });
  const m = new Float64Array(P);
  const v = new Float64Array(P);
  const lr = 0.05;
  for (let t = 1; t <= epochs; t++) {
    const g = new Float64Array(P);
    for (let i = 0; i < n; i++) {
      const zi = z[i]!;
      let s1 = theta[d]!;
      let s2 = theta[2 * d + 1]!;
      for (let j = 0; j < d; j++) {
        s1 += theta[j]! * zi[j]!;
        s2 += theta[d + 1 + j]! * zi[j]!;
      }
      const p1 = 1 / (1 + Math.exp(-s1));
      const p2 = 1 / (1 + Math.exp(-s2));
      const p = Math.min(1 - 1e-9, Math.max(1e-12, p1 * p2));
      const w = y[i] ? wPos : wNeg;
      // d loss / d s_k = -(1 - p_k) for a positive, p (1 - p_k) / (1 - p) for a negative.
      const g1 = w * (y[i] ? -(1 - p1) : (p * (1 - p1)) / (1 - p));
      const g2 = w * (y[i] ? -(1 - p2) : (p * (1 - p2)) / (1 - p));
      for (let j = 0; j < d; j++) {
        g[j]! += (g1 * zi[j]!) / n;
        g[d + 1 + j]! += (g2 * zi[j]!) / n;
      }
      g[d]! += g1 / n;
      g[2 * d + 1]! += g2 / n;
    }
    for (let j = 0; j < d; j++) {
      g[j]! += l2 * theta[j]!;
      g[d + 1 + j]! += l2 * theta[d + 1 + j]!;
    }
    for (let j = 0; j < P; j++) {
      m[j] = 0.9 * m[j]! + 0.1 * g[j]!;
      v[j] = 0.999 * v[j]! + 0.001 * g[j]! ** 2;
      const step = (lr * (m[j]! / (1 - 0.9 ** t))) / (Math.sqrt(v[j]! / (1 - 0.999 ** t)) + 1e-8);
      theta[j] = Math.min(hi[j]!, Math.max(lo[j]!, theta[j]! - step));
    }
  }
  const r = (a: ArrayLike<number>) => Array.from(a, (q) => Number(q.toFixed(6)));
  return {
    mean: r(mean),
    scale: r(scale),
    weights: r(theta.subarray(0, d)),
    bias: Number(theta[d]!.toFixed(6)),
    gate: { weights: r(theta.subarray(d + 1, 2 * d + 1)), bias: Number(theta[2 * d + 1]!.toFixed(6)) },
  };
}

/**
 * What the cache really compares: a prompt and its nearest stored neighbours. For each source
 * prompt, its two nearest other prompts by cosine that are not among its own variants are
 * negatives (a different question on a close topic).
 */
async function nearestOtherNegatives(embedder: Embedder, pairs: TrainPair[]): Promise<TrainPair[]> {
  const sources = [...new Set(pairs.map((p) => p.a))];
  const related = new Map<string, Set<string>>();
  for (const p of pairs) {
    if (!related.has(p.a)) related.set(p.a, new Set([p.a]));
    related.get(p.a)!.add(p.b);
  }
  const vectors = await embedAll(embedder, sources, 64);
  const out: TrainPair[] = [];
  for (const a of sources) {
    const va = vectors.get(a)!;
    const near = sources
      .filter((b) => !related.get(a)!.has(b) && !related.get(b)?.has(a))
      .map((b) => ({ b, s: cosine(va, vectors.get(b)!) }))
      .sort((x, y) => y.s - x.s)
      .slice(0, 2);
    for (const { b } of near) out.push({ a, b, label: false, kind: 'nearest-other' });
  }
  return out;
}

async function main(): Promise<void> {
  const root = repoRoot();
  const model = process.env.EMBED_MODEL?.trim() || DEFAULT_EMBED_MODEL;
  const modelsDir = path.resolve(root, process.env.MODELS_DIR?.trim() || 'models');
  const embedder = await createTransformersEmbedder({ model, modelsDir, allowRemote: false });
  const sim = loadWordSimilarity(modelsDir, model);

  const train = trainingPairs(root, undefined, sim?.known && sim.related ? createLexicon(sim.known, sim.related, sim) : undefined, sim);
  // Nearest others among the plain texts: the preamble-wrapped copies would add thousands of
  // near-duplicate negatives and drown the kinds they stand for.
  train.push(...(await nearestOtherNegatives(embedder, train.filter((p) => !TOPIC_KINDS.has(p.kind)))));
  const trainCos = await cosines(embedder, train);
  const keep = train.map((_, i) => trainCos[i]! >= MIN_COSINE);
  const tp = train.filter((_, i) => keep[i]);
  const x = featureMatrix(tp, trainCos.filter((_, i) => keep[i]), sim);
  const y = tp.map((p) => p.label);
  const kinds = new Map<string, number>();
  for (const p of tp) kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1);
  console.log(`train-verifier: ${tp.length} generated pairs (${y.filter(Boolean).length} positive): ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const fitted = fitNoisyAnd(x, y);
  const weights: VerifierWeights = { features: [...FEATURE_NAMES], ...fitted, minCosine: MIN_COSINE };
  console.log('weights (standardized):');
  FEATURE_NAMES.forEach((f, j) => console.log(`  ${f.padEnd(20)} details ${weights.weights[j]!.toFixed(3).padStart(7)}  topic ${weights.gate!.weights[j]!.toFixed(3).padStart(7)}`));
  console.log(`  ${'bias'.padEnd(20)} details ${weights.bias.toFixed(3).padStart(7)}  topic ${weights.gate!.bias.toFixed(3).padStart(7)}`);

  const dev = readEvalSplit(root, 'dev');
  const devCos = await cosines(embedder, dev);
  await embedder.close?.();
  const scores = verifierScores(weights, dev, devCos, sim);
  const labels = dev.map((p) => p.label);
  console.log(`dev ROC-AUC: verifier ${rocAuc(scores.map((score, i) => ({ score, label: labels[i]! }))).toFixed(3)}, cosine ${rocAuc(devCos.map((score, i) => ({ score, label: labels[i]! }))).toFixed(3)}`);
  if (process.env.TRAIN_DEBUG === '1') {
    const order = scores.map((s, i) => i).sort((i, j) => scores[j]! - scores[i]!);
    for (const i of order.filter((i) => !labels[i]).slice(0, 10)) console.log(`  neg ${scores[i]!.toFixed(3)} ${dev[i]!.kind}: ${dev[i]!.a} | ${dev[i]!.b}`);
  }
  const cal = thresholdAtPrecision(scores, labels, TARGET_PRECISION);
  if (!cal) throw new Error('no threshold reaches the target precision on dev');
  weights.threshold = cal.threshold;
  weights.trainedOn = `bench/lib/verifier-training.ts: ${tp.length} project-generated pairs`;
  weights.calibratedOn = `data/eval/{adversarial,topic}-dev.jsonl (${dev.length} pairs), precision >= ${TARGET_PRECISION} at 95% confidence (Wilson lower bound)`;
  const hit = scores.map((s) => s >= cal.threshold);
  const q = hitQuality(labels, hit);
  console.log(`dev at ${cal.threshold}: precision ${q.precision.toFixed(3)} (95% lower bound ${cal.lowerBound.toFixed(3)}), recall ${q.recall.toFixed(3)}`);
  for (const k of perKind(dev, hit)) console.log(`  ${k.kind.padEnd(10)} ${k.shouldHit ? 'hit ' : 'miss'} ${k.hits}/${k.pairs}`);
  if (process.env.TRAIN_WRITE === '0') return;
  const file = path.join(modelsDir, model, 'verifier.json');
  fs.writeFileSync(file, JSON.stringify(weights, null, 1) + '\n');
  console.log(`train-verifier: wrote ${path.relative(root, file)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
