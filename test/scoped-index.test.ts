import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ScopedIndex } from '../src/vector-index/scoped-index.js';

const DIM = 16;
const HNSW = { m: 16, efConstruction: 100, efSearch: 64 };

function unit(seed: number): Float32Array {
  const v = new Float32Array(DIM);
  let x = seed * 2654435761;
  let n = 0;
  for (let i = 0; i < DIM; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    v[i] = x / 2147483648 - 0.5;
    n += v[i]! * v[i]!;
  }
  for (let i = 0; i < DIM; i++) v[i]! /= Math.sqrt(n);
  return v;
}

function bruteForce(vectors: Map<number, Float32Array>, q: Float32Array): number {
  let best = -1;
  let bestSim = -Infinity;
  for (const [id, v] of vectors) {
    let s = 0;
    for (let i = 0; i < DIM; i++) s += v[i]! * q[i]!;
    if (s > bestSim) [best, bestSim] = [id, s];
  }
  return best;
}

describe('scope-partitioned vector index', () => {
  it('searches only the asked scope, exactly for small scopes, by HNSW once a scope outgrows the scan limit', () => {
    const index = new ScopedIndex({ dimension: DIM, model: 'm', hnsw: HNSW, flatLimit: 20 });
    const byScope = new Map<string, Map<number, Float32Array>>();
    let id = 1;
    // Scope "big" (60 entries) goes past the limit; 30 scopes of 1-3 entries stay scanned.
    const scopes = ['big', ...Array.from({ length: 30 }, (_, i) => `small-${i}`)];
    for (const s of scopes) {
      const m = new Map<number, Float32Array>();
      byScope.set(s, m);
      for (let k = 0; k < (s === 'big' ? 60 : 1 + (k % 3)); k++) {
        const v = unit(id);
        index.add(id, s, v);
        m.set(id++, v);
      }
    }
    expect(index.size).to.equal(id - 1);
    expect(index.scopes).to.equal(scopes.length);
    for (let q = 0; q < 200; q++) {
      const s = scopes[q % scopes.length]!;
      const v = unit(10_000 + q);
      const top = index.search(s, v, 3);
      expect(byScope.get(s)!.has(top[0]!.id), 'in scope').to.equal(true);
      expect(top[0]!.id).to.equal(bruteForce(byScope.get(s)!, v));
      for (let i = 1; i < top.length; i++) expect(top[i - 1]!.similarity).to.be.at.least(top[i]!.similarity);
    }
    expect(index.search('no-such-scope', unit(1), 3)).to.deep.equal([]);
  });

  it('removes entries (swap-remove in a scanned scope), applies the filter, and forgets empty scopes', () => {
    const index = new ScopedIndex({ dimension: DIM, model: 'm', hnsw: HNSW, flatLimit: 10 });
    for (let id = 1; id <= 5; id++) index.add(id, 's', unit(id));
    index.remove(2);
    expect(index.has(2)).to.equal(false);
    expect(index.search('s', unit(2), 5).map((n) => n.id)).to.not.include(2);
    expect(index.search('s', unit(5), 1)[0]!.id).to.equal(5);
    expect(index.search('s', unit(5), 1, (id) => id !== 5)[0]!.id).to.not.equal(5);
    for (const id of [1, 3, 4, 5]) index.remove(id);
    expect(index.size).to.equal(0);
    expect(index.scopes).to.equal(0);
  });

  it('saves large scopes and loads them back; a corrupt or foreign folder loads as empty', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scoped-'));
    try {
      const opts = { dimension: DIM, model: 'm', hnsw: HNSW, flatLimit: 3 };
      const index = new ScopedIndex(opts);
      for (let id = 1; id <= 10; id++) index.add(id, 'big', unit(id));
      index.add(11, 'small', unit(11));
      index.save(path.join(dir, 'ix'));
      const back = ScopedIndex.load(path.join(dir, 'ix'), opts);
      // Only the HNSW scope is in the files; small scopes come back from the store.
      expect([...back.ids()].sort((a, b) => a - b)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(back.search('big', unit(7), 1)[0]!.id).to.equal(7);
      expect(ScopedIndex.load(path.join(dir, 'ix'), { ...opts, model: 'other' }).size).to.equal(0);
      for (const f of fs.readdirSync(path.join(dir, 'ix'))) if (f.endsWith('.hnsw')) fs.writeFileSync(path.join(dir, 'ix', f), 'garbage');
      expect(ScopedIndex.load(path.join(dir, 'ix'), opts).size).to.equal(0);
      fs.writeFileSync(path.join(dir, 'ix', 'meta.json'), '{');
      expect(ScopedIndex.load(path.join(dir, 'ix'), opts).size).to.equal(0);
      expect(ScopedIndex.load(path.join(dir, 'missing'), opts).size).to.equal(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
