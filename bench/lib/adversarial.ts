/**
 * The project's adversarial evaluation set (data/eval/, written before tuning): `dev` is for
 * tuning and calibration, `test` is frozen and only reported.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { PairSet } from './datasets.js';

export interface AdversarialPair {
  kind: string;
  domain: string;
  a: string;
  b: string;
  label: boolean;
  source: 'hand' | 'template';
  group: string;
}

export const SHOULD_HIT_KINDS = ['reorder', 'filler', 'typo', 'reword', 'verbose', 'preamble-changed'] as const;
export const SHOULD_MISS_KINDS = ['negation', 'number', 'entity', 'scope', 'format', 'role-swap', 'shared-preamble', 'same-frame', 'same-entity'] as const;

/** The sets under data/eval, each split dev / test the same way. */
export type EvalSetName = 'adversarial' | 'topic';

export function readAdversarial(root: string, split: 'dev' | 'test'): AdversarialPair[] {
  return readEvalSet(root, 'adversarial', split);
}

/**
 * data/eval/<name>-<split>.jsonl. `topic` holds different questions behind a shared preamble, frame
 * or entity (should miss) and the same question with its preamble changed (should hit).
 */
export function readEvalSet(root: string, name: EvalSetName, split: 'dev' | 'test'): AdversarialPair[] {
  const file = path.join(root, 'data', 'eval', `${name}-${split}.jsonl`);
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as AdversarialPair);
}

/** Every data/eval set's split pooled: what training reports and calibration read (dev only). */
export function readEvalSplit(root: string, split: 'dev' | 'test'): AdversarialPair[] {
  return [...readEvalSet(root, 'adversarial', split), ...readEvalSet(root, 'topic', split)];
}

export function adversarialSet(root: string, split: 'dev' | 'test'): PairSet & { rows: AdversarialPair[] } {
  const rows = readAdversarial(root, split);
  return { name: `adversarial-${split}`, description: `the project's adversarial set, ${split} split (data/eval)`, pairs: rows, rows };
}

export interface KindRow {
  kind: string;
  shouldHit: boolean;
  pairs: number;
  hits: number;
}

/** Hits per kind for a decision per pair (true = served from the cache). */
export function perKind(rows: AdversarialPair[], hit: boolean[]): KindRow[] {
  const out: KindRow[] = [];
  for (const kind of [...SHOULD_HIT_KINDS, ...SHOULD_MISS_KINDS]) {
    const idx = rows.map((r, i) => (r.kind === kind ? i : -1)).filter((i) => i >= 0);
    if (idx.length === 0) continue;
    out.push({ kind, shouldHit: (SHOULD_HIT_KINDS as readonly string[]).includes(kind), pairs: idx.length, hits: idx.filter((i) => hit[i]).length });
  }
  return out;
}

/** Precision of hits, recall on should-hit pairs, hit rate. */
export function hitQuality(labels: boolean[], hit: boolean[]): { precision: number; recall: number; hitRate: number; hits: number } {
  let tp = 0;
  let fp = 0;
  let pos = 0;
  labels.forEach((l, i) => {
    if (l) pos++;
    if (hit[i]) l ? tp++ : fp++;
  });
  return { precision: tp + fp === 0 ? NaN : tp / (tp + fp), recall: pos === 0 ? NaN : tp / pos, hitRate: labels.length ? (tp + fp) / labels.length : NaN, hits: tp + fp };
}
