import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parseCacheDirectives } from '../src/cache/cache-control.js';
import { computeCacheKeys } from '../src/cache/request-key.js';
import { readLegacyLog } from '../src/store/legacy-log.js';
import { openKvStores } from '../src/store/kv.js';
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

describe('the embedded store (LMDB behind keyv)', () => {
  it('keeps namespaces apart, persists across reopen and clears one namespace only', async () => {
    const dir = tempDir('lmdb-');
    let kv = await openKvStores('file://', dir);
    const a = kv.open<{ n: number }>('alpha');
    const b = kv.open<string>('beta');
    expect(await a.set('1', { n: 1 })).to.equal(true);
    await a.set('2', { n: 2 });
    await b.set('1', 'one');
    await a.set('gone', { n: 0 }, 1); // expires after 1 ms
    await new Promise((r) => setTimeout(r, 5));
    expect(await a.delete('2')).to.equal(true);
    await kv.close();

    kv = await openKvStores('file://', dir);
    const got: Array<[string, unknown]> = [];
    for await (const e of kv.iterate('alpha')) got.push(e);
    expect(got).to.deep.equal([['1', { n: 1 }]]);
    await kv.open('alpha').clear();
    expect(await kv.open<string>('beta').get('1')).to.equal('one');
    expect(await kv.open('alpha').get('1')).to.equal(undefined);
    expect(fs.existsSync(path.join(dir, 'store.mdb'))).to.equal(true);
    await kv.close();
  });

  it('imports an old store.log once, skipping torn records instead of stopping at them', async () => {
    const dir = tempDir('lmdb-migrate-');
    const rec = (k: string, value: unknown) => JSON.stringify({ k, v: JSON.stringify({ value }) });
    const log = [
      rec('gateway-keys:h1', { name: 'app', revokedAt: null }),
      rec('entries:1', { answer: 'first' }),
      // A short write at ENOSPC: no newline, the next append lands on the same line.
      '{"k":"entries:2","v":"{\\"val' + rec('gateway-keys:h1', { name: 'app', revokedAt: 1234 }),
      '{"k":"entries:3","v":"garbage',
      rec('entries:4', { answer: 'after the torn ones' }),
      JSON.stringify({ k: 'entries:1', d: 1 }),
      '{"k":"entries:5","v":"torn at the en',
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'store.log'), log);
    let kv = await openKvStores('file://', dir);
    // The revocation written after the torn record holds: a revoked key must not work again.
    expect(await kv.open('gateway-keys').get('h1')).to.deep.equal({ name: 'app', revokedAt: 1234 });
    const entries: string[] = [];
    for await (const [k] of kv.iterate('entries')) entries.push(k);
    expect(entries).to.deep.equal(['4']);
    expect(fs.existsSync(path.join(dir, 'store.log'))).to.equal(false);
    expect(fs.existsSync(path.join(dir, 'store.log.migrated'))).to.equal(true);
    await kv.open('entries').set('6', { answer: 'new' });
    await kv.close();

    // Opened again: no second import (the renamed log is left alone), new writes kept.
    kv = await openKvStores('file://', dir);
    expect(await kv.open('entries').get('6')).to.deep.equal({ answer: 'new' });
    expect(await kv.open('entries').get('4')).to.deep.equal({ answer: 'after the torn ones' });
    await kv.close();
  });

  it('reads the legacy log linearly: counts records and torn lines', () => {
    const file = path.join(tempDir('legacy-'), 'store.log');
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) lines.push(JSON.stringify({ k: `hits:${i % 100}`, v: String(i) }));
    lines.splice(500, 0, '{"k":"x","v":"to');
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const { data, records, torn } = readLegacyLog(file);
    expect(records).to.equal(20_000);
    expect(torn).to.equal(1);
    expect(data.size).to.equal(100);
    expect(data.get('hits:99')).to.equal('19999');
  });

  it('lets a tool (no gateway lock) read and write while a gateway has the store open', async () => {
    const dir = tempDir('lmdb-lock-');
    const gw = await openKvStores('file://', dir);
    await gw.open('k').set('a', 1);
    const tool = await openKvStores('file://', dir, { lock: false });
    expect(await tool.open('k').get('a')).to.equal(1);
    await tool.open('k').set('b', 2);
    await tool.close();
    expect(await gw.open('k').get('b')).to.equal(2);
    await gw.close();
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

describe('index saves off the event loop and batched hit counters', () => {
  it('a background save holds adds and removes made during it, searches them, and applies them after', async () => {
    const dir = tempDir('vi-bg-');
    const file = path.join(dir, 'idx.hnsw');
    const vi = VectorIndex.create(32, 'm', settings);
    for (let id = 1; id <= 2000; id++) vi.add(id, unit(id, 32));
    const saving = vi.saveInBackground(file);
    const fresh = unit(1, 32).map((x) => -x); // unlike every stored vector
    vi.add(9001, fresh); // held: the index is being written
    vi.remove(5);
    expect(vi.search(fresh, 1)[0]).to.include({ id: 9001 });
    expect(vi.search(unit(5, 32), 3).map((n) => n.id)).to.not.include(5);
    await saving;
    expect(VectorIndex.load(file, 32, 'm', settings)!.has(9001)).to.equal(false); // saved before the add
    expect(vi.dirty).to.equal(true);
    await vi.flush(file);
    const loaded = VectorIndex.load(file, 32, 'm', settings)!;
    expect(loaded.has(9001)).to.equal(true);
    expect(loaded.has(5)).to.equal(false);
    expect(loaded.size).to.equal(2000);
  });

  it('counts hits in memory and writes them in one batch, kept across a restart', async () => {
    const { SemanticCache } = await import('../src/cache/semantic-cache.js');
    const { defaultEmbedder } = await import('./helpers/gateway.js');
    const winston = (await import('winston')).default;
    const dir = tempDir('hits-');
    const embedder = await defaultEmbedder();
    const open = async () => {
      const kv = await openKvStores('file://', dir);
      const cache = await SemanticCache.open({ kv, embedder, logger: winston.createLogger({ silent: true }), dataDir: dir, defaultThreshold: 0.9, scoring: { kind: 'cosine' }, ttlSeconds: 0, maxEntries: 100, hnsw: settings });
      return { kv, cache };
    };
    const keys = { scope: 's', exactKey: 's:hello', semanticText: 'hello there' };
    const answer = { id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] } as never;
    let { kv, cache } = await open();
    await cache.store(keys, { tenant: 't', namespace: 'default', model: 'm' }, answer);
    const stored = async () => {
      const out: unknown[] = [];
      for await (const [, h] of kv.iterate('hits')) out.push(h);
      return out;
    };
    for (let i = 0; i < 3; i++) expect((await cache.lookup(keys, { lookup: true, store: true })).status).to.equal('hit');
    expect(await stored()).to.deep.equal([]); // no write per hit
    await cache.flushHits();
    expect((await stored()) as Array<{ hits: number }>).to.have.length(1);
    expect(((await stored()) as Array<{ hits: number }>)[0]!.hits).to.equal(3);
    await cache.lookup(keys, { lookup: true, store: true });
    await cache.close(); // flushes
    await kv.close();
    ({ kv, cache } = await open());
    const hit = await cache.lookup(keys, { lookup: true, store: true });
    expect(hit.entry!.hits).to.equal(5);
    expect(hit.entry!.response).to.deep.equal(answer);
    await cache.close();
    await kv.close();
  });
});
