import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Keyv } from 'keyv';
import { createClient, createKeyv } from '@keyv/redis';
import { UsageTotalsStore, type TotalsRecord } from '../src/accounting/totals.js';
import { requireRedis } from './helpers/redis.js';

/** A Map store that can be told to fail, as a Redis connection can. */
class FlakyMap<K, V> extends Map<K, V> {
  failGets = false;
  failSets = false;
  override get(key: K): V | undefined {
    if (this.failGets) throw new Error('store down (get)');
    return super.get(key);
  }
  override set(key: K, value: V): this {
    if (this.failSets) throw new Error('store down (set)');
    return super.set(key, value);
  }
}

const miss = (tenant: string, model: string, costMicroUsd: number, promptTokens = 100, completionTokens = 50): TotalsRecord => ({
  tenant,
  model,
  cacheStatus: 'miss',
  promptTokens,
  completionTokens,
  costMicroUsd,
});

const hit = (tenant: string, model: string, savedMicroUsd: number, savedTokens = 150): TotalsRecord => ({
  tenant,
  model,
  cacheStatus: 'hit',
  savedTokens,
  savedMicroUsd,
});


describe('accounting/totals', () => {
  const stores: UsageTotalsStore[] = [];
  const open = (kv: Keyv, keyPrefix?: string) => {
    const s = new UsageTotalsStore(kv, { flushIntervalMs: 0, keyPrefix });
    stores.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  });

  it('counts requests by cache status, tokens and money, before any flush', async () => {
    const totals = open(new Keyv(new Map()));
    totals.record(miss('t1', 'gpt-4o', 7500, 1000, 500));
    totals.record(hit('t1', 'gpt-4o', 7500, 1500));
    totals.record({ tenant: 't2', model: 'gpt-4o-mini', cacheStatus: 'semantic-hit', savedTokens: 30, savedMicroUsd: 9 });
    totals.record({ tenant: 't2', model: 'gpt-4o-mini', cacheStatus: 'bypass', promptTokens: 10, completionTokens: 1, costMicroUsd: 2 });
    totals.record({ tenant: 't2', model: 'gpt-4o-mini', cacheStatus: 'miss', error: true });

    expect(await totals.overall()).to.deep.equal({
      requests: 5,
      hits: 1,
      semanticHits: 1,
      misses: 2,
      bypasses: 1,
      errors: 1,
      promptTokens: 1010,
      completionTokens: 501,
      savedTokens: 1530,
      costMicroUsd: 7502,
      savedMicroUsd: 7509,
      costUsd: 0.007502,
      savedUsd: 0.007509,
    });
    const t1 = await totals.tenant('t1');
    expect([t1.requests, t1.hits, t1.misses, t1.costMicroUsd, t1.savedMicroUsd]).to.deep.equal([2, 1, 1, 7500, 7500]);
    const mini = await totals.model('gpt-4o-mini');
    expect([mini.requests, mini.semanticHits, mini.bypasses, mini.errors]).to.deep.equal([3, 1, 1, 1]);
    expect(Object.keys(await totals.tenants())).to.deep.equal(['t1', 't2']);
    expect(Object.keys(await totals.models())).to.deep.equal(['gpt-4o', 'gpt-4o-mini']);
    expect((await totals.tenant('nobody')).requests).to.equal(0);
  });

  it('writes nothing until flushed, then survives a restart on the same backing store', async () => {
    const backing = new Map();
    const first = open(new Keyv(backing));
    first.record(miss('acme', 'gpt-4o', 7500));
    first.record(hit('acme', 'gpt-4o', 7500));
    expect(backing.size).to.equal(0);
    await first.close();
    expect(backing.size).to.be.greaterThan(0);

    // A new process: a new Keyv over the same data, a new totals store, no shared memory.
    const second = open(new Keyv(backing));
    const acme = await second.tenant('acme');
    expect([acme.requests, acme.hits, acme.misses, acme.costMicroUsd, acme.savedMicroUsd]).to.deep.equal([2, 1, 1, 7500, 7500]);
    expect(Object.keys(await second.tenants())).to.deep.equal(['acme']);

    // Counting goes on from the restored values.
    second.record(miss('acme', 'gpt-4o', 2500));
    second.record(miss('beta', 'claude-3-5-haiku', 1));
    await second.close();
    const third = open(new Keyv(backing));
    expect((await third.tenant('acme')).costMicroUsd).to.equal(10_000);
    expect((await third.overall()).requests).to.equal(4);
    expect(Object.keys(await third.tenants())).to.deep.equal(['acme', 'beta']);
    expect(Object.keys(await third.models())).to.deep.equal(['claude-3-5-haiku', 'gpt-4o']);
  });

  it('accumulates money exactly in micro-dollars where floats drift', async () => {
    const totals = open(new Keyv(new Map()));
    let floatSum = 0;
    for (let i = 0; i < 1000; i++) {
      totals.record(miss('t', 'm', 100_000)); // $0.10
      floatSum += 0.1;
      if (i % 97 === 0) await totals.flush();
    }
    await totals.flush();
    const all = await totals.overall();
    expect(floatSum).to.not.equal(100); // the drift this design avoids
    expect(all.costMicroUsd).to.equal(100_000_000);
    expect(all.costUsd).to.equal(100);
  });

  it('ignores negative, fractional and non-finite amounts instead of corrupting totals', async () => {
    const totals = open(new Keyv(new Map()));
    totals.record({ tenant: 't', model: 'm', cacheStatus: 'miss', promptTokens: -3, completionTokens: Number.NaN, costMicroUsd: Infinity });
    totals.record({ tenant: 't', model: 'm', cacheStatus: 'miss', costMicroUsd: 2.4 });
    const all = await totals.overall();
    expect([all.requests, all.promptTokens, all.completionTokens, all.costMicroUsd]).to.deep.equal([2, 0, 0, 2]);
  });

  it('keeps counts buffered when a write fails, and writes them once when the store is back', async () => {
    const backing = new FlakyMap<string, unknown>();
    const totals = open(new Keyv(backing));
    totals.record(miss('t', 'm', 10));
    await totals.flush();
    totals.record(miss('t', 'm', 20));
    backing.failSets = true;
    let failed = false;
    await totals.flush().catch(() => (failed = true));
    expect(failed).to.equal(true);
    expect((await totals.overall()).costMicroUsd).to.equal(30);
    backing.failSets = false;
    await totals.flush();
    await totals.flush();
    const reread = open(new Keyv(backing));
    const all = await reread.overall();
    expect([all.requests, all.costMicroUsd]).to.deep.equal([2, 30]);
  });

  it('does not restart a key from zero when a read fails silently', async () => {
    const backing = new FlakyMap<string, unknown>();
    const totals = open(new Keyv(backing)); // throwOnErrors false: get() answers undefined on error
    totals.record(miss('t', 'm', 10));
    await totals.flush();
    backing.failGets = true;
    totals.record(miss('t', 'm', 5));
    await totals.flush();
    backing.failGets = false;
    const reread = open(new Keyv(backing));
    const all = await reread.overall();
    expect([all.requests, all.costMicroUsd]).to.deep.equal([2, 15]);
    expect(Object.keys(await reread.tenants())).to.deep.equal(['t']);
  });

  it('aborts the flush on a read error when the Keyv throws on errors', async () => {
    const backing = new FlakyMap<string, unknown>();
    const totals = open(new Keyv({ store: backing, throwOnErrors: true }));
    totals.record(miss('t', 'm', 10));
    backing.failGets = true;
    let failed = false;
    await totals.flush().catch(() => (failed = true));
    expect(failed).to.equal(true);
    expect(backing.size).to.equal(0);
    backing.failGets = false;
    await totals.close();
    const all = await open(new Keyv(backing)).overall();
    expect([all.requests, all.costMicroUsd]).to.deep.equal([1, 10]);
  });

  it('refuses records after close', async () => {
    const totals = open(new Keyv(new Map()));
    await totals.close();
    expect(() => totals.record(miss('t', 'm', 1))).to.throw(/closed/);
  });

  it('two stores with different key prefixes in one Keyv do not mix', async () => {
    const backing = new Map();
    const a = open(new Keyv(backing), 'a:');
    const b = open(new Keyv(backing), 'b:');
    a.record(miss('t', 'm', 1));
    b.record(miss('t', 'm', 2));
    b.record(miss('t', 'm', 2));
    await a.flush();
    await b.flush();
    expect((await open(new Keyv(backing), 'a:').overall()).requests).to.equal(1);
    expect((await open(new Keyv(backing), 'b:').overall()).costMicroUsd).to.equal(4);
  });

  describe('over a real Redis (the run\'s own redis-server)', function () {
    const namespace = `test-totals-${randomUUID()}`;
    let available = false;
    let url = '';
    before(async function () {
      url = (await requireRedis(this)).url();
      available = true;
    });
    after(async () => {
      if (!available) return;
      const client = createClient({ url });
      await client.connect();
      const keys = await client.keys(`${namespace}*`);
      if (keys.length) await client.del(keys);
      expect(await client.keys(`${namespace}*`)).to.deep.equal([]);
      await client.quit();
    });

    it('persists across a disconnect and a new connection', async () => {
      const kv1 = createKeyv(url, { namespace, throwOnErrors: true });
      const first = new UsageTotalsStore(kv1, { flushIntervalMs: 0 });
      first.record(miss('tenant-a', 'gpt-4o', 7500, 1000, 500));
      first.record(hit('tenant-a', 'gpt-4o', 7500, 1500));
      first.record(miss('tenant-b', 'gpt-4.1-mini', 1));
      await first.close();
      await kv1.disconnect();

      const client = createClient({ url });
      await client.connect();
      expect((await client.keys(`${namespace}*`)).length).to.be.greaterThan(0);
      await client.quit();

      const kv2 = createKeyv(url, { namespace, throwOnErrors: true });
      const second = new UsageTotalsStore(kv2, { flushIntervalMs: 0 });
      try {
        const a = await second.tenant('tenant-a');
        expect([a.requests, a.hits, a.misses, a.promptTokens, a.completionTokens, a.savedTokens, a.costMicroUsd, a.savedMicroUsd]).to.deep.equal([
          2, 1, 1, 1000, 500, 1500, 7500, 7500,
        ]);
        expect(Object.keys(await second.models())).to.deep.equal(['gpt-4.1-mini', 'gpt-4o']);
        expect((await second.overall()).requests).to.equal(3);
      } finally {
        await second.close();
        await kv2.disconnect();
      }
    });
  });
});
