import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parseCacheDirectives } from '../src/cache/cache-control.js';
import { computeCacheKeys } from '../src/cache/request-key.js';
import { FileLogMap } from '../src/store/file-log-map.js';
import { VectorIndex } from '../src/vector-index/hnsw-index.js';
import { tempDir } from './helpers/gateway.js';

const settings = { m: 16, efConstruction: 200, efSearch: 64 };

function unit(seed: number, dim: number): Float32Array {
  const v = new Float32Array(dim);
  let x = seed * 2654435761;
  for (let i = 0; i < dim; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    v[i] = x / 2147483648 - 0.5;
  }
  const n = Math.hypot(...v);
  return v.map((a) => a / n);
}

describe('VectorIndex (hnswlib-node)', () => {
  it('grows past its initial capacity, removes, filters and survives save/load', () => {
    const dir = tempDir('vi-');
    const file = path.join(dir, 'idx.hnsw');
    const vi = VectorIndex.create(32, 'm', settings);
    for (let id = 1; id <= 3000; id++) vi.add(id, unit(id, 32));
    expect(vi.size).to.equal(3000);
    expect(vi.search(unit(1234, 32), 1)[0]).to.include({ id: 1234 });
    vi.remove(1234);
    expect(vi.search(unit(1234, 32), 1)[0]!.id).to.not.equal(1234);
    const only = vi.search(unit(10, 32), 3, (id) => id % 2 === 0);
    expect(only.every((n) => n.id % 2 === 0)).to.equal(true);
    vi.save(file);
    const loaded = VectorIndex.load(file, 32, 'm', settings)!;
    expect(loaded.size).to.equal(2999);
    expect(loaded.has(1234)).to.equal(false);
    // A loaded index must still grow (it has room for exactly what it held).
    for (let id = 5001; id <= 5100; id++) loaded.add(id, unit(id, 32));
    expect(loaded.search(unit(5050, 32), 1)[0]).to.include({ id: 5050 });
  });

  it('refuses an index of another model or dimension, or a corrupt file', () => {
    const dir = tempDir('vi-');
    const file = path.join(dir, 'idx.hnsw');
    const vi = VectorIndex.create(8, 'model-a', settings);
    vi.add(1, unit(1, 8));
    vi.save(file);
    expect(VectorIndex.load(file, 8, 'model-b', settings)).to.equal(undefined);
    expect(VectorIndex.load(file, 16, 'model-a', settings)).to.equal(undefined);
    fs.writeFileSync(file, 'not an index');
    expect(VectorIndex.load(file, 8, 'model-a', settings)).to.equal(undefined);
  });

  it('loads an empty saved index and grows it', () => {
    const file = path.join(tempDir('vi-'), 'idx.hnsw');
    VectorIndex.create(8, 'm', settings).save(file);
    const loaded = VectorIndex.load(file, 8, 'm', settings)!;
    loaded.add(7, unit(7, 8));
    expect(loaded.size).to.equal(1);
  });
});

describe('FileLogMap (the embedded store)', () => {
  it('replays sets, deletes and clears, and compacts without losing data', () => {
    const file = path.join(tempDir('log-'), 'store.log');
    const m = new FileLogMap(file, 0, 1024);
    for (let i = 0; i < 1500; i++) m.set('k', String(i)); // forces compaction (1 KiB slack)
    m.set('a', '1');
    m.delete('a');
    m.set('b', '2');
    m.close();
    expect(fs.readFileSync(file, 'utf8').split('\n').length).to.be.lessThan(600);
    const again = new FileLogMap(file, 0);
    expect([...again.entries()]).to.deep.equal([
      ['k', '1499'],
      ['b', '2'],
    ]);
    again.clear();
    again.set('c', '3');
    again.close();
    const third = new FileLogMap(file, 0);
    expect([...third.entries()]).to.deep.equal([['c', '3']]);
    third.close();
  });

  it('drops a torn final line and keeps appending after it', () => {
    const file = path.join(tempDir('log-'), 'store.log');
    const m = new FileLogMap(file, 0);
    m.set('x', 'ok');
    m.close();
    fs.appendFileSync(file, '{"k":"y","v":"half');
    const m2 = new FileLogMap(file, 0);
    expect(m2.get('y')).to.equal(undefined);
    m2.set('z', 'fine');
    m2.close();
    const m3 = new FileLogMap(file, 0);
    expect([...m3.entries()]).to.deep.equal([
      ['x', 'ok'],
      ['z', 'fine'],
    ]);
    m3.close();
  });
});

describe('cache keys and directives', () => {
  const req = (extra: Record<string, unknown> = {}, content = 'Hello   there') => ({
    model: 'm',
    messages: [{ role: 'system' as const, content: 'sys' }, { role: 'user' as const, content }],
    ...extra,
  });
  const keys = (r: ReturnType<typeof req>, tenant = 't') => computeCacheKeys({ tenant, namespace: 'default', model: r.model, request: r });

  it('ignores whitespace, key order, stream flags and user; splits on anything else', () => {
    const base = keys(req());
    expect(keys(req({}, ' Hello there ')).exactKey).to.equal(base.exactKey);
    expect(keys(req({ stream: true, user: 'u1', stream_options: { include_usage: true } })).exactKey).to.equal(base.exactKey);
    expect(keys(req({ temperature: 0.2, top_p: 1 })).scope).to.equal(keys(req({ top_p: 1, temperature: 0.2 })).scope);
    expect(keys(req({ temperature: 0.2 })).scope).to.not.equal(base.scope);
    expect(keys(req({ some_future_param: true })).scope).to.not.equal(base.scope);
    expect(keys(req(), 'other').scope).to.not.equal(base.scope);
    expect(base.semanticText).to.equal('Hello there');
  });

  it('embeds only a plain-text user turn', () => {
    const tool = computeCacheKeys({ namespace: 'd', model: 'm', request: { model: 'm', messages: [{ role: 'tool', content: 'result', tool_call_id: 'x' }] } });
    expect(tool.semanticText).to.equal(undefined);
    const image = computeCacheKeys({
      namespace: 'd',
      model: 'm',
      request: { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: 'data:x' } }] }] },
    });
    expect(image.semanticText).to.equal(undefined);
  });

  it('parses Cache-Control and clamps x-cache-threshold', () => {
    expect(parseCacheDirectives('no-store', undefined)).to.deep.include({ lookup: false, store: false });
    expect(parseCacheDirectives('No-Cache, max-age=30', undefined)).to.deep.include({ lookup: false, store: true, maxAgeSeconds: 30 });
    expect(parseCacheDirectives(undefined, '0.2').threshold).to.equal(0.5);
    expect(parseCacheDirectives(undefined, '1.7').threshold).to.equal(1);
    expect(() => parseCacheDirectives('max-age=-1', undefined)).to.throw(/max-age/);
  });
});
