/**
 * Bench part `scopes`: scope-filtered search over one global HNSW index (a JS filter callback per
 * candidate, as the cache did) against the scope-partitioned index (exact scan of small scopes,
 * an HNSW index per large one), as the number of scopes grows. Entries are spread over the scopes
 * Zipf-like (a few large tenants, a long tail of tiny ones); queries are stored vectors plus noise
 * (a paraphrase, cosine ~0.9) searched within their entry's scope, drawn uniformly over entries;
 * truth is the brute-force nearest neighbour within the scope.
 */
import { seededRandom } from './datasets.js';
import { percentile } from './metrics.js';
import { makeVectors } from './part-index.js';
import { log } from './progress.js';
import { VectorIndex, type HnswSettings } from '../../src/vector-index/hnsw-index.js';
import { ScopedIndex } from '../../src/vector-index/scoped-index.js';

export interface ScopeCell {
  scopes: number;
  entries: number;
  /** Entries of the largest scope. */
  largestScope: number;
  method: string;
  recallAt1: number;
  searchUsP50: number;
  searchUsP99: number;
  /** Over queries whose scope holds at most flatLimit entries, and over the others. */
  smallScopeUsP50: number;
  largeScopeUsP50: number;
  buildSec: number;
}

export interface ScopesReport {
  dimension: number;
  entries: number;
  queries: number;
  flatLimit: number;
  settings: HnswSettings;
  cells: ScopeCell[];
}

function zipfScopes(n: number, scopes: number, seed: number): Int32Array {
  const random = seededRandom(seed);
  const cdf = new Float64Array(scopes);
  let sum = 0;
  for (let s = 0; s < scopes; s++) cdf[s] = sum += 1 / (s + 1);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const u = random() * sum;
    let lo = 0;
    let hi = scopes - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    out[i] = lo;
  }
  return out;
}

export async function runScopes(opts: { entries: number; scopeCounts: number[]; dimension: number; queries: number; flatLimit: number; settings: HnswSettings; seed: number }): Promise<ScopesReport> {
  const { entries: n, dimension: dim } = opts;
  const base = makeVectors(n, dim, 'clustered', opts.seed);
  const row = (i: number) => base.subarray(i * dim, (i + 1) * dim);
  log(`scopes: building one global HNSW index of ${n} x ${dim}`);
  let t0 = performance.now();
  const global = VectorIndex.create(dim, 'bench', opts.settings);
  for (let i = 0; i < n; i++) global.add(i + 1, row(i));
  const globalBuildSec = (performance.now() - t0) / 1000;
  const cells: ScopeCell[] = [];
  const random = seededRandom(opts.seed + 5);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  for (const S of opts.scopeCounts) {
    const scopeOf = zipfScopes(n, S, opts.seed + S);
    const members = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const list = members.get(scopeOf[i]!);
      if (list) list.push(i);
      else members.set(scopeOf[i]!, [i]);
    }
    const largest = Math.max(...[...members.values()].map((m) => m.length));
    // Queries and their in-scope truth.
    const sigma = Math.sqrt(0.234 / dim);
    const qs: Array<{ v: Float32Array; scope: number; truth: number; small: boolean }> = [];
    for (let q = 0; q < opts.queries; q++) {
      const i = Math.floor(random() * n);
      const v = new Float32Array(dim);
      let norm = 0;
      for (let k = 0; k < dim; k++) {
        v[k] = base[i * dim + k]! + sigma * gaussian();
        norm += v[k]! * v[k]!;
      }
      for (let k = 0; k < dim; k++) v[k]! /= Math.sqrt(norm);
      const scope = scopeOf[i]!;
      let best = -1;
      let bestSim = -Infinity;
      for (const j of members.get(scope)!) {
        let s = 0;
        for (let k = 0; k < dim; k++) s += base[j * dim + k]! * v[k]!;
        if (s > bestSim) {
          bestSim = s;
          best = j;
        }
      }
      qs.push({ v, scope, truth: best + 1, small: members.get(scope)!.length <= opts.flatLimit });
    }
    const scopeName = (s: number) => `tenant-${s}|default|gpt-4o|params`;
    const labelScope = new Map<number, string>();
    for (let i = 0; i < n; i++) labelScope.set(i + 1, scopeName(scopeOf[i]!));

    t0 = performance.now();
    const scoped = new ScopedIndex({ dimension: dim, model: 'bench', hnsw: opts.settings, flatLimit: opts.flatLimit });
    for (let i = 0; i < n; i++) scoped.add(i + 1, scopeName(scopeOf[i]!), row(i));
    const scopedBuildSec = (performance.now() - t0) / 1000;

    const methods: Array<{ name: string; buildSec: number; search: (q: (typeof qs)[number]) => number | undefined }> = [
      {
        name: 'global HNSW + scope filter',
        buildSec: globalBuildSec,
        search: (q) => {
          const name = scopeName(q.scope);
          return global.search(q.v, 1, (id) => labelScope.get(id) === name)[0]?.id;
        },
      },
      { name: `partitioned (exact scan <= ${opts.flatLimit}, HNSW above)`, buildSec: scopedBuildSec, search: (q) => scoped.search(scopeName(q.scope), q.v, 1, () => true)[0]?.id },
    ];
    for (const m of methods) {
      for (const q of qs.slice(0, 20)) m.search(q); // warm-up
      const all: number[] = [];
      const small: number[] = [];
      const large: number[] = [];
      let hits = 0;
      for (const q of qs) {
        const t = performance.now();
        const id = m.search(q);
        const us = (performance.now() - t) * 1000;
        all.push(us);
        (q.small ? small : large).push(us);
        if (id === q.truth) hits++;
      }
      const p = (a: number[], x: number) => (a.length ? percentile(a.sort((u, v) => u - v), x) : NaN);
      const cell: ScopeCell = {
        scopes: S,
        entries: n,
        largestScope: largest,
        method: m.name,
        recallAt1: hits / qs.length,
        searchUsP50: p(all, 0.5),
        searchUsP99: p(all, 0.99),
        smallScopeUsP50: p(small, 0.5),
        largeScopeUsP50: p(large, 0.5),
        buildSec: m.buildSec,
      };
      cells.push(cell);
      log(`scopes: ${S} scopes, ${m.name}: recall@1 ${cell.recallAt1.toFixed(3)}, p50 ${cell.searchUsP50.toFixed(0)} us, p99 ${cell.searchUsP99.toFixed(0)} us`);
    }
  }
  return { dimension: dim, entries: n, queries: opts.queries, flatLimit: opts.flatLimit, settings: opts.settings, cells };
}

export function renderScopes(r: ScopesReport): string[] {
  const L: string[] = ['## Scope-partitioned search', ''];
  L.push(
    `${r.entries.toLocaleString('en-US')} clustered ${r.dimension}-d vectors spread Zipf-like over the scopes; ${r.queries} paraphrase queries (stored vector + noise, cosine ~0.9) drawn uniformly over entries, ` +
      `each searched within its entry's scope; recall@1 against brute force within the scope. HNSW M=${r.settings.m}, efConstruction=${r.settings.efConstruction}, efSearch=${r.settings.efSearch}.`,
    '',
  );
  L.push('| scopes | largest scope | method | recall@1 | search p50 us | p99 us | p50 small scopes | p50 large scopes | build s |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  for (const c of r.cells) {
    L.push(`| ${c.scopes.toLocaleString('en-US')} | ${c.largestScope.toLocaleString('en-US')} | ${c.method} | ${f(c.recallAt1, 3)} | ${f(c.searchUsP50)} | ${f(c.searchUsP99)} | ${f(c.smallScopeUsP50)} | ${f(c.largeScopeUsP50)} | ${f(c.buildSec, 1)} |`);
  }
  L.push('');
  return L;
}
