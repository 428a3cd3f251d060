import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { openKvStores } from '../src/store/kv.js';
import { freshRedisUrl, requireRedis } from './helpers/redis.js';

describe("Redis store: repeated namespace scans (the run's own redis-server)", function () {
  let url: string;
  before(async function () {
    await requireRedis(this);
    url = (await freshRedisUrl())!;
  });

  it('adds no listeners to the shared client per scan (sweeps and purges run for the life of the gateway)', async () => {
    const stores = await openKvStores(url, os.tmpdir());
    const client = stores.redis as unknown as NodeJS.EventEmitter;
    try {
      const namespace = `test-kv-scan-${randomUUID()}`; // never written: nothing to clean up
      const scan = async () => {
        for await (const entry of stores.iterate(namespace)) throw new Error(`unexpected ${String(entry)}`);
      };
      await scan();
      const before = client.listenerCount('error');
      for (let i = 0; i < 15; i++) await scan();
      expect(client.listenerCount('error')).to.equal(before);
    } finally {
      await stores.close();
    }
  });

  it('opens a store per namespace (as the gateway does at start) without tripping the listener-leak warning', async () => {
    const stores = await openKvStores(url, os.tmpdir());
    const client = stores.redis as unknown as NodeJS.EventEmitter;
    try {
      for (let i = 0; i < 16; i++) stores.open(`test-kv-open-${i}`);
      for (let i = 0; i < 4; i++) for await (const _ of stores.iterate(`test-kv-open-${i}`)) throw new Error('empty namespace expected');
      for (const event of ['error', 'connect', 'disconnect', 'reconnecting']) {
        expect(client.listenerCount(event), event).to.be.at.most(client.getMaxListeners());
      }
    } finally {
      await stores.close();
    }
  });
});
