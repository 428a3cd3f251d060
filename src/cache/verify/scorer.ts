/**
 * The learned second stage: logistic regression over the pair features (features.ts), fitted
 * offline by bench/train-verifier.ts on pairs the project generates itself and stored as
 * models/<model>/verifier.json. Its output, the probability that the new prompt asks the same
 * question as the stored one, is the score the cache compares with its threshold.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FEATURE_NAMES } from './features.js';

export interface VerifierWeights {
  /** Feature names in order (must equal FEATURE_NAMES). */
  features: string[];
  /** Per-feature standardization, then weights. */
  mean: number[];
  scale: number[];
  weights: number[];
  bias: number;
  /** Served default threshold on the probability, from `make calibrate` on the dev split. */
  threshold?: number;
  /** Candidates below this embedding cosine are not scored (they cannot reach any threshold in practice). */
  minCosine?: number;
  trainedOn?: string;
  calibratedOn?: string;
}

export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

export function probability(w: VerifierWeights, x: ArrayLike<number>): number {
  let z = w.bias;
  for (let i = 0; i < w.weights.length; i++) z += w.weights[i]! * ((x[i]! - w.mean[i]!) / w.scale[i]!);
  return sigmoid(z);
}

export function validateWeights(w: VerifierWeights, source: string): VerifierWeights {
  const n = FEATURE_NAMES.length;
  const ok =
    Array.isArray(w.features) &&
    w.features.length === n &&
    w.features.every((f, i) => f === FEATURE_NAMES[i]) &&
    [w.mean, w.scale, w.weights].every((a) => Array.isArray(a) && a.length === n && a.every(Number.isFinite)) &&
    w.scale.every((s) => s > 0) &&
    Number.isFinite(w.bias);
  if (!ok) throw new Error(`${source}: verifier weights do not match this version's features (${FEATURE_NAMES.join(', ')}); retrain with make train-verifier`);
  return w;
}

/** models/<model>/verifier.json, or undefined when the model has none. */
export function loadVerifierWeights(modelsDir: string, model: string): VerifierWeights | undefined {
  const file = path.join(modelsDir, model, 'verifier.json');
  if (!fs.existsSync(file)) return undefined;
  return validateWeights(JSON.parse(fs.readFileSync(file, 'utf8')) as VerifierWeights, file);
}
