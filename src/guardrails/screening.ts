import model from './screening-model.json' with { type: 'json' };
import { extractFeatures, FEATURE_NAMES, type FeatureName, type Features } from './features.js';
import { screenText } from './normalize.js';

/**
 * Prompt-injection and jailbreak screening: the text is normalized (normalize.ts), described by
 * pattern-family features (features.ts) and scored by a small logistic model, fitted by
 * `npx tsx bench/train-screening.ts` on the dev split of data/eval/guardrails/ only. The score is
 * a probability-like number in [0, 1]; a policy compares it with its threshold (default: the
 * model's, chosen on dev for a low false-positive rate).
 */

export interface ScreeningModel {
  bias: number;
  weights: Record<FeatureName, number>;
  threshold: number;
}

export const SCREENING_MODEL: ScreeningModel = model as ScreeningModel;

export interface ScreeningResult {
  score: number;
  /** The families that pushed the score up most, for the log line (names only, never text). */
  reasons: FeatureName[];
}

export function featuresOf(text: string): Features {
  return extractFeatures(screenText(text));
}

export function scoreFeatures(f: Features, m: ScreeningModel = SCREENING_MODEL): ScreeningResult {
  let z = m.bias;
  const contributions: Array<[FeatureName, number]> = [];
  for (const name of FEATURE_NAMES) {
    const c = (m.weights[name] ?? 0) * f[name];
    z += c;
    if (c > 0.5) contributions.push([name, c]);
  }
  contributions.sort((a, b) => b[1] - a[1]);
  return { score: 1 / (1 + Math.exp(-z)), reasons: contributions.slice(0, 3).map(([n]) => n) };
}

/** Screens one text (a message's content). */
export function screenPrompt(text: string, m: ScreeningModel = SCREENING_MODEL): ScreeningResult {
  return scoreFeatures(featuresOf(text), m);
}
