/**
 * Bench part 5: the gateway's VectorIndex (hnswlib) at scale. For each dimension and size:
 * insert time, search time, memory (RSS growth and the saved index file), and recall@1 against
 * brute force, on seeded random unit vectors and on clustered vectors (topics, as real prompts
 * are), with near-duplicate queries (what a cache hit looks like) and fresh ones. Then an ef
 * sweep on the largest index, to back the recommended settings.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VectorIndex, type HnswSettings } from '../../src/vector-index/hnsw-index.js';
import { seededRandom } from './datasets.js';
import { percentile } from './metrics.js';
import { log } from './progress.js';

export type Distribution = 'uniform' | 'clustered';

export interface IndexCell {
  dimension: number;
  distribution: Distribution;
  entries: number;
  insertSec: number;
  insertUsPerEntry: number;
  searchUsP50: number;
  searchUsP99: number;
  /** recall@1 vs brute force: queries that are a stored vector plus noise (cosine ~0.9). */
  recallAt1Near: number;
  /** recall@1 vs brute force: fresh queries from the same distribution. */
  recallAt1Fresh: number;
  rssGrowthMiB: number;
  indexFileMiB: number;
  /** Brute-force search time per query (the no-index alternative), ms. */
  bruteForceMsPerQuery: number;
}

export interface EfPoint {
  efSearch: number;
  recallAt1Near: number;
  recallAt1Fresh: number;
  searchUsP50: number;
}

export interface IndexReport {
  settings: HnswSettings;
  queries: number;
  cells: IndexCell[];
  efSweep: { dimension: number; distribution: Distribution; entries: number; points: EfPoint[] }[];
}

function gaussian(random: () => number): number {
  // Box-Muller; 1 - u keeps log away from 0.
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function normalizeInto(out: Float32Array, offset: number, dim: number): void {
  let n = 0;
  for (let k = 0; k < dim; k++) n += out[offset + k]! * out[offset + k]!;
  n = Math.sqrt(n) || 1;
  for (let k = 0; k < dim; k++) out[offset + k]! /= n;
}

/** N unit vectors in one flat array (row i at i*dim). */
export function makeVectors(n: number, dim: number, dist: Distribution, seed: number): Float32Array {
  const random = seededRandom(seed);
  const out = new Float32Array(n * dim);
  if (dist === 'uniform') {
    for (let i = 0; i < n * dim; i++) out[i] = gaussian(random);
  } else {
    // About 100 entries per topic, each at cosine ~0.7 to its topic centre.
    const topics = Math.max(1, Math.round(n / 100));
    const centres = new Float32Array(topics * dim);
    for (let i = 0; i < centres.length; i++) centres[i] = gaussian(random);
    for (let c = 0; c < topics; c++) normalizeInto(centres, c * dim, dim);
    const sigma = Math.sqrt(1.04 / dim);
    for (let i = 0; i < n; i++) {
      const c = Math.floor(random() * topics);
      for (let k = 0; k < dim; k++) out[i * dim + k] = centres[c * dim + k]! + sigma * gaussian(random);
    }
  }
  for (let i = 0; i < n; i++) normalizeInto(out, i * dim, dim);
  return out;
}

/** A stored vector plus noise, renormalized: cosine ~0.9 to the original (a paraphrase). */
function nearQueries(base: Float32Array, n: number, dim: number, count: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const sigma = Math.sqrt(0.234 / dim);
  const out = new Float32Array(count * dim);
  for (let q = 0; q < count; q++) {
    const i = Math.floor(random() * n);
    for (let k = 0; k < dim; k++) out[q * dim + k] = base[i * dim + k]! + sigma * gaussian(random);
    normalizeInto(out, q * dim, dim);
  }
  return out;
}

function bruteForceTop1(base: Float32Array, n: number, dim: number, q: Float32Array): number {
  let best = -1;
  let bestSim = -Infinity;
  for (let i = 0; i < n; i++) {
    let dot = 0;
    const off = i * dim;
    for (let k = 0; k < dim; k++) dot += base[off + k]! * q[k]!;
    if (dot > bestSim) {
      bestSim = dot;
      best = i;
    }
  }
  return best;
}

function rssMiB(): number {
  return process.memoryUsage().rss / (1024 * 1024);
}

interface Measured {
  recall: number;
  usP50: number;
  usP99: number;
}

function measure(index: VectorIndex, queries: Float32Array, truth: number[], dim: number): Measured {
  const times: number[] = [];
  let hits = 0;
  for (let q = 0; q < truth.length; q++) {
    const v = queries.subarray(q * dim, (q + 1) * dim);
    const t0 = performance.now();
    const res = index.search(v, 1);
    times.push((performance.now() - t0) * 1000);
    // Labels are 1-based (0 is avoided as an id, as the cache does).
    if (res[0]?.id === truth[q]! + 1) hits++;
  }
  times.sort((a, b) => a - b);
  return { recall: hits / truth.length, usP50: percentile(times, 0.5), usP99: percentile(times, 0.99) };
}

export async function runIndexScale(opts: {
  dimensions: number[];
  sizes: number[];
  distributions: Distribution[];
  settings: HnswSettings;
  queries: number;
  efSweep: number[];
  seed: number;
}): Promise<IndexReport> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcache-index-'));
  const cells: IndexCell[] = [];
  const efSweep: IndexReport['efSweep'] = [];
  try {
    for (const dim of opts.dimensions) {
      for (const dist of opts.distributions) {
        for (const n of opts.sizes) {
          // 1M uniform adds ~25 min of inserts and says nothing the clustered case does not.
          if (n >= 1_000_000 && dist === 'uniform' && opts.distributions.length > 1) continue;
          // Fewer queries at 1M: brute force is the slow part there.
          const qCount = n >= 1_000_000 ? Math.min(opts.queries, 50) : opts.queries;
          // Fresh queries come from the same draw (same topics) but are never inserted.
          const all = makeVectors(n + qCount, dim, dist, opts.seed + n + dim);
          const base = all.subarray(0, n * dim);
          const fresh = all.subarray(n * dim);
          const near = nearQueries(base, n, dim, qCount, opts.seed + 1);
          const bf0 = performance.now();
          const truthNear: number[] = [];
          const truthFresh: number[] = [];
          for (let q = 0; q < qCount; q++) {
            truthNear.push(bruteForceTop1(base, n, dim, near.subarray(q * dim, (q + 1) * dim)));
            truthFresh.push(bruteForceTop1(base, n, dim, fresh.subarray(q * dim, (q + 1) * dim)));
          }
          const bruteForceMsPerQuery = (performance.now() - bf0) / (2 * qCount);

          global.gc?.();
          const rss0 = rssMiB();
          const index = VectorIndex.create(dim, 'bench', opts.settings);
          const t0 = performance.now();
          for (let i = 0; i < n; i++) index.add(i + 1, base.subarray(i * dim, (i + 1) * dim));
          const insertSec = (performance.now() - t0) / 1000;
          const rssGrowthMiB = rssMiB() - rss0;
          const mNear = measure(index, near, truthNear, dim);
          const mFresh = measure(index, fresh, truthFresh, dim);
          const file = path.join(tmp, `i-${dim}-${dist}-${n}.hnsw`);
          index.save(file);
          const indexFileMiB = fs.statSync(file).size / (1024 * 1024);
          cells.push({
            dimension: dim,
            distribution: dist,
            entries: n,
            insertSec,
            insertUsPerEntry: (insertSec * 1e6) / n,
            searchUsP50: (mNear.usP50 + mFresh.usP50) / 2,
            searchUsP99: Math.max(mNear.usP99, mFresh.usP99),
            recallAt1Near: mNear.recall,
            recallAt1Fresh: mFresh.recall,
            rssGrowthMiB,
            indexFileMiB,
            bruteForceMsPerQuery,
          });
          log(`index: dim ${dim} ${dist} ${n}: insert ${insertSec.toFixed(1)} s, search p50 ${((mNear.usP50 + mFresh.usP50) / 2).toFixed(0)} us, recall@1 near ${mNear.recall.toFixed(3)} fresh ${mFresh.recall.toFixed(3)}`);

          // The ef sweep on the largest size of each dimension and distribution: uniform vectors are
          // the hard case for HNSW, clustered ones the realistic case.
          if (n === Math.max(...opts.sizes.filter((x) => x < 1_000_000 || dist === 'clustered')) && opts.efSweep.length > 0) {
            const points: EfPoint[] = [];
            for (const ef of opts.efSweep) {
              const loaded = VectorIndex.load(file, dim, 'bench', { ...opts.settings, efSearch: ef });
              if (!loaded) throw new Error('saved index did not load');
              const a = measure(loaded, near, truthNear, dim);
              const b = measure(loaded, fresh, truthFresh, dim);
              points.push({ efSearch: ef, recallAt1Near: a.recall, recallAt1Fresh: b.recall, searchUsP50: (a.usP50 + b.usP50) / 2 });
            }
            efSweep.push({ dimension: dim, distribution: dist, entries: n, points });
          }
          fs.rmSync(file, { force: true });
          fs.rmSync(`${file}.meta.json`, { force: true });
        }
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { settings: opts.settings, queries: opts.queries, cells, efSweep };
}
