/**
 * The learned second stage: logistic regression over the pair features (features.ts), fitted
 * offline by bench/train-verifier.ts on pairs the project generates itself and stored as
 * models/<model>/verifier.json. Its output, the probability that the new prompt asks the same
 * question as the stored one, is the score the cache compares with its threshold.
 *
 * Two factors multiply (a noisy AND): `gate` asks "same topic?" from the similarity features
 * (cosine, coverage of the specific words), `weights` asks "same details?" from the mismatch
 * features (roles, numbers, negation, a sibling swapped in, the question's target). One linear
 * model cannot say both: near-identical hard negatives teach it that similarity is suspicious,
 * and then unrelated prompts with no mismatch to find score high.
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
  /** The "same topic" factor (same standardized features), multiplied in when present. */
  gate?: { weights: number[]; bias: number };
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
  let g = w.gate?.bias ?? 0;
  for (let i = 0; i < w.weights.length; i++) {
    const v = (x[i]! - w.mean[i]!) / w.scale[i]!;
    z += w.weights[i]! * v;
    if (w.gate) g += w.gate.weights[i]! * v;
  }
  return w.gate ? sigmoid(z) * sigmoid(g) : sigmoid(z);
}

export function validateWeights(w: VerifierWeights, source: string): VerifierWeights {
  const n = FEATURE_NAMES.length;
  const ok =
    Array.isArray(w.features) &&
    w.features.length === n &&
    w.features.every((f, i) => f === FEATURE_NAMES[i]) &&
    [w.mean, w.scale, w.weights].every((a) => Array.isArray(a) && a.length === n && a.every(Number.isFinite)) &&
    w.scale.every((s) => s > 0) &&
    Number.isFinite(w.bias) &&
    (w.gate === undefined || (Array.isArray(w.gate.weights) && w.gate.weights.length === n && w.gate.weights.every(Number.isFinite) && Number.isFinite(w.gate.bias)));
  if (!ok) throw new Error(`${source}: verifier weights do not match this version's features (${FEATURE_NAMES.join(', ')}); retrain with make train-verifier`);
  return w;
}

/** models/<model>/verifier.json, or undefined when the model has none. */
export function loadVerifierWeights(modelsDir: string, model: string): VerifierWeights | undefined {
  const file = path.join(modelsDir, model, 'verifier.json');
  if (!fs.existsSync(file)) return undefined;
  return validateWeights(JSON.parse(fs.readFileSync(file, 'utf8')) as VerifierWeights, file);
}
