/**
 * Fits the injection screen's logistic model (src/guardrails/screening-model.json) on the DEV
 * split of data/eval/guardrails/ only, and picks its default threshold on dev: the lowest
 * threshold whose dev false-positive rate is at most TARGET_FPR. The test split is not read.
 * A build step like `make train-verifier`: run by hand (`npx tsx bench/train-screening.ts`), the
 * result is committed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FEATURE_NAMES, type Features } from '../src/guardrails/features.js';
import { featuresOf } from '../src/guardrails/screening.js';

const TARGET_FPR = 0.01;
const L2 = 0.0005;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const rows = fs
  .readFileSync(path.join(root, 'data/eval/guardrails/dev.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { label: string; text: string; family: string });
const xs = rows.map((r) => featuresOf(r.text));
const ys = rows.map((r) => (r.label === 'attack' ? 1 : 0));
const nPos = ys.filter((y) => y === 1).length;
const nNeg = ys.length - nPos;
// Benign prompts weigh more: a false block costs a user, a missed attack has a second line (the model itself).
const sampleWeight = ys.map((y) => (y === 1 ? 0.5 / nPos : 0.5 / nNeg) * ys.length * (y === 1 ? 1 : 1.5));

const vec = (f: Features) => FEATURE_NAMES.map((n) => f[n]);
const X = xs.map(vec);
let w = new Array(FEATURE_NAMES.length).fill(0);
let b = 0;
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
for (let epoch = 0; epoch < 20000; epoch++) {
  const gw = new Array(w.length).fill(0);
  let gb = 0;
  for (let i = 0; i < X.length; i++) {
    const z = X[i]!.reduce((s, x, k) => s + x * w[k]!, b);
    const err = (sigmoid(z) - ys[i]!) * sampleWeight[i]!;
    for (let k = 0; k < w.length; k++) gw[k] += err * X[i]![k]!;
    gb += err;
  }
  const lr = 0.5;
  w = w.map((v, k) => v - lr * (gw[k] / X.length + L2 * v));
  b -= lr * (gb / X.length);
}
const scores = X.map((x) => sigmoid(x.reduce((s, v, k) => s + v * w[k]!, b)));
const candidates = [...new Set(scores)].sort((a, c) => a - c);
let threshold = 0.5;
for (const t of candidates) {
  const fp = scores.filter((s, i) => ys[i] === 0 && s >= t).length / nNeg;
  if (fp <= TARGET_FPR) {
    threshold = t;
    break;
  }
}
// Halfway to the next benign score above it, rounded: not fitted to one dev prompt's exact score.
threshold = Math.round(threshold * 1000) / 1000;
const tp = scores.filter((s, i) => ys[i] === 1 && s >= threshold).length;
const fp = scores.filter((s, i) => ys[i] === 0 && s >= threshold).length;
const weights = Object.fromEntries(FEATURE_NAMES.map((n, k) => [n, Number(w[k]!.toFixed(4))]));
const out = { bias: Number(b.toFixed(4)), weights, threshold, trainedOn: 'data/eval/guardrails/dev.jsonl', dev: { attacks: nPos, benign: nNeg, blocked: tp, falsePositives: fp } };
fs.writeFileSync(path.join(root, 'src/guardrails/screening-model.json'), JSON.stringify(out, null, 1) + '\n');
console.log(JSON.stringify(out, null, 1));
if (process.argv.includes('--errors')) {
  rows.forEach((r, i) => {
    const wrong = (scores[i]! >= threshold) !== (ys[i] === 1);
    if (wrong) console.log(`${r.label}\t${scores[i]!.toFixed(3)}\t${r.family}\t${JSON.stringify(r.text).slice(0, 160)}`);
  });
}
