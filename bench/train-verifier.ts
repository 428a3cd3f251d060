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
import { hitQuality, perKind, readAdversarial } from './lib/adversarial.js';
import { repoRoot } from './lib/datasets.js';
import { rocAuc } from './lib/metrics.js';
import { trainingPairs, type TrainPair } from './lib/verifier-training.js';
import { embedAll } from './lib/evaluate.js';
import { cosine } from './lib/metrics.js';
import type { Embedder } from '../src/embedding/embedder.js';
import { cosines, featureMatrix, thresholdAtPrecision, verifierScores } from './lib/verifier-eval.js';

const TARGET_PRECISION = 0.97;
/** Below this cosine a candidate is not scored (none of the training positives is that far). */
const MIN_COSINE = 0.2;
const POSITIVE = new Set<string>(['cosine', 'lexical', 'coverMin', 'coverMax', 'chunkCover', 'kept', 'synonymShare']);
const NEGATIVE = new Set<string>(['unmatchedMin', 'reversed', 'moved', 'numberMismatch', 'negationMismatch', 'identifierMismatch', 'entityMismatch', 'directionMismatch', 'substitution', 'quantifierMismatch', 'slotSubstitution']);

function fitLogistic(x: Float64Array[], y: boolean[], l2 = 1e-3, epochs = 3000): Omit<VerifierWeights, 'features'> {
  const n = x.length;
  const d = x[0]!.length;
  const mean = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(0);
  for (const row of x) row.forEach((v, j) => (mean[j]! += v / n));
  for (const row of x) row.forEach((v, j) => (scale[j]! += (v - mean[j]!) ** 2 / n));
  for (let j = 0; j < d; j++) scale[j] = Math.sqrt(scale[j]!) || 1;
  const z = x.map((row) => row.map((v, j) => (v - mean[j]!) / scale[j]!));
  const pos = y.filter(Boolean).length;
  const wPos = n / (2 * pos);
  const wNeg = n / (2 * (n - pos));
  const w = new Array<number>(d).fill(0);
  let b = 0;
  // Sign constraints (a prior, not a fit): more similarity or overlap never lowers the score, and
  // a mismatch or a swapped role never raises it. Keeps the model sane on pairs unlike the
  // generated ones (a linear fit on perturbations otherwise learns "very similar = suspicious").
  const lo = FEATURE_NAMES.map((f) => (POSITIVE.has(f) ? 0 : -Infinity));
  const hi = FEATURE_NAMES.map((f) => (NEGATIVE.has(f) ? 0 : Infinity));
  // Adam on the class-balanced log loss.
  const m = new Array<number>(d + 1).fill(0);
  const v = new Array<number>(d + 1).fill(0);
  const lr = 0.05;
  for (let t = 1; t <= epochs; t++) {
    const g = new Array<number>(d + 1).fill(0);
    for (let i = 0; i < n; i++) {
      let s = b;
      for (let j = 0; j < d; j++) s += w[j]! * z[i]![j]!;
      const p = 1 / (1 + Math.exp(-s));
      const err = (p - (y[i] ? 1 : 0)) * (y[i] ? wPos : wNeg);
      for (let j = 0; j < d; j++) g[j]! += (err * z[i]![j]!) / n;
      g[d]! += err / n;
    }
    for (let j = 0; j < d; j++) g[j]! += l2 * w[j]!;
    for (let j = 0; j <= d; j++) {
      m[j] = 0.9 * m[j]! + 0.1 * g[j]!;
      v[j] = 0.999 * v[j]! + 0.001 * g[j]! ** 2;
      const step = (lr * (m[j]! / (1 - 0.9 ** t))) / (Math.sqrt(v[j]! / (1 - 0.999 ** t)) + 1e-8);
      if (j < d) w[j] = Math.min(hi[j]!, Math.max(lo[j]!, w[j]! - step));
      else b -= step;
    }
  }
  const r = (a: number[]) => a.map((q) => Number(q.toFixed(6)));
  return { mean: r(mean), scale: r(scale), weights: r(w), bias: Number(b.toFixed(6)) };
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

  const train = trainingPairs(root);
  train.push(...(await nearestOtherNegatives(embedder, train)));
  const trainCos = await cosines(embedder, train);
  const keep = train.map((_, i) => trainCos[i]! >= MIN_COSINE);
  const tp = train.filter((_, i) => keep[i]);
  const x = featureMatrix(tp, trainCos.filter((_, i) => keep[i]), sim);
  const y = tp.map((p) => p.label);
  const kinds = new Map<string, number>();
  for (const p of tp) kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1);
  console.log(`train-verifier: ${tp.length} generated pairs (${y.filter(Boolean).length} positive): ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const fitted = fitLogistic(x, y);
  const weights: VerifierWeights = { features: [...FEATURE_NAMES], ...fitted, minCosine: MIN_COSINE };
  console.log('weights (standardized):');
  FEATURE_NAMES.forEach((f, j) => console.log(`  ${f.padEnd(20)} ${weights.weights[j]!.toFixed(3)}`));

  const dev = readAdversarial(root, 'dev');
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
  weights.calibratedOn = `data/eval/adversarial-dev.jsonl (${dev.length} pairs), precision >= ${TARGET_PRECISION}`;
  const hit = scores.map((s) => s >= cal.threshold);
  const q = hitQuality(labels, hit);
  console.log(`dev at ${cal.threshold}: precision ${q.precision.toFixed(3)}, recall ${q.recall.toFixed(3)}`);
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
