/**
 * Readers for the evaluation sets under shared/data (never copied into the repo, never trained
 * on). Each reader returns null when its files are absent, so callers can skip cleanly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rng } from '../../models/build/random.js';

export interface LabeledPair {
  a: string;
  b: string;
  /** true = same meaning. */
  label: boolean;
}

export interface PairSet {
  name: string;
  description: string;
  pairs: LabeledPair[];
}

/** The repository root: the nearest folder above this file holding package.json. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

/** SHARED_DATA_DIR, else ../shared/data next to the repository. */
export function sharedDataDir(): string {
  const fromEnv = process.env.SHARED_DATA_DIR;
  return fromEnv && fromEnv.trim() !== '' ? path.resolve(fromEnv) : path.resolve(repoRoot(), '..', 'shared', 'data');
}

/** Seeded PRNG for reproducible samples: the same mulberry32 the model build uses. */
export const seededRandom = rng;

export function shuffled<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Graded pairs: score >= hi is "same", score <= lo is "different", the middle is dropped. */
function graded(rows: { score: number; a: string; b: string }[], lo: number, hi: number): LabeledPair[] {
  const out: LabeledPair[] = [];
  for (const r of rows) {
    if (r.score >= hi) out.push({ a: r.a, b: r.b, label: true });
    else if (r.score <= lo) out.push({ a: r.a, b: r.b, label: false });
  }
  return out;
}

/** STS-B train+dev+test (tab-separated: genre, file, year, id, score, s1, s2[, sources]). */
export function readStsB(dataDir: string): PairSet | null {
  const dir = path.join(dataDir, 'stsbenchmark');
  const files = ['sts-train.csv', 'sts-dev.csv', 'sts-test.csv'].map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f));
  if (files.length === 0) return null;
  const rows: { score: number; a: string; b: string }[] = [];
  for (const f of files) {
    for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
      const cols = line.split('\t');
      if (cols.length < 7) continue;
      const score = Number(cols[4]);
      if (Number.isFinite(score)) rows.push({ score, a: cols[5]!, b: cols[6]! });
    }
  }
  return { name: 'stsb', description: 'STS-B train+dev+test, score >= 4 same, <= 2 different', pairs: graded(rows, 2, 4) };
}

/** SemEval-2016 STS question-question (score, q1, q2; unscored rows skipped). */
export function readSemEvalQuestions(dataDir: string): PairSet | null {
  const file = path.join(dataDir, 'sts2016-question-question', 'question-question.test.tsv');
  if (!fs.existsSync(file)) return null;
  const rows: { score: number; a: string; b: string }[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const cols = line.split('\t');
    if (cols.length < 3 || cols[0]!.trim() === '') continue;
    rows.push({ score: Number(cols[0]), a: cols[1]!, b: cols[2]! });
  }
  return { name: 'semeval16-qq', description: 'SemEval-2016 question-question, score >= 4 same, <= 2 different', pairs: graded(rows, 2, 4) };
}

/**
 * Positive-only paraphrase pairs ({origin, similar}[]): every (origin, similar) is a positive;
 * each origin is also paired with `negativesPerPositive` other pairs' `similar` as negatives.
 * `maxPositives` takes a seeded sample.
 */
export function readPositivePairs(
  file: string,
  name: string,
  description: string,
  opts: { maxPositives: number; negativesPerPositive: number; seed: number },
): PairSet | null {
  if (!fs.existsSync(file)) return null;
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as { origin: string; similar: string }[];
  const random = seededRandom(opts.seed);
  const sample = shuffled(
    raw.filter((p) => p.origin.trim() && p.similar.trim()),
    random,
  ).slice(0, opts.maxPositives);
  const pairs: LabeledPair[] = [];
  sample.forEach((p, i) => {
    pairs.push({ a: p.origin, b: p.similar, label: true });
    for (let k = 0; k < opts.negativesPerPositive && sample.length > 1; k++) {
      let j = Math.floor(random() * (sample.length - 1));
      if (j >= i) j++;
      pairs.push({ a: p.origin, b: sample[j]!.similar, label: false });
    }
  });
  return { name, description: `${description}; ${opts.negativesPerPositive} other pairs' prompts per positive as negatives`, pairs };
}

export function readGptCacheMock(dataDir: string, opts = { maxPositives: 1000, negativesPerPositive: 4, seed: 7 }): PairSet | null {
  return readPositivePairs(path.join(dataDir, 'gptcache-bench', 'mock_data.json'), 'gptcache-mock', 'GPTCache LLM-written paraphrases', opts);
}

export function readQqpDuplicates(dataDir: string, opts = { maxPositives: 4000, negativesPerPositive: 4, seed: 11 }): PairSet | null {
  return readPositivePairs(path.join(dataDir, 'gptcache-bench', 'similiar_qqp.json'), 'qqp-dup', `QQP duplicates (seeded sample of ${opts.maxPositives})`, opts);
}

/** All evaluation sets present under dataDir, in a fixed order. */
export function readAllSets(dataDir: string): { sets: PairSet[]; missing: string[] } {
  const readers: [string, () => PairSet | null][] = [
    ['stsbenchmark', () => readStsB(dataDir)],
    ['sts2016-question-question', () => readSemEvalQuestions(dataDir)],
    ['gptcache-bench/mock_data.json', () => readGptCacheMock(dataDir)],
    ['gptcache-bench/similiar_qqp.json', () => readQqpDuplicates(dataDir)],
  ];
  const sets: PairSet[] = [];
  const missing: string[] = [];
  for (const [label, read] of readers) {
    const s = read();
    if (s) sets.push(s);
    else missing.push(label);
  }
  return { sets, missing };
}
