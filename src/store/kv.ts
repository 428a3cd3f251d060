import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Keyv } from 'keyv';
import KeyvRedis, { createClient, type RedisClientType } from '@keyv/redis';
import { DEFAULT_STORE_MIN_FREE_MB, type DiskReserve } from './disk-reserve.js';
import { openLmdbStore } from './lmdb-store.js';
import { ProcessLock } from './process-lock.js';
import { StoreHealth } from './store-health.js';

/**
 * Storage is chosen by CACHE_STORE_URL and handed out as keyv instances, one per namespace
 * (entries, exact keys, totals, gateway keys, limits...). Modules never know which backend runs.
 *   unset / file://   -> embedded LMDB database, DATA_DIR/store.mdb or file://<path> (survives
 *                        restarts, no server; an earlier version's store.log is imported once)
 *   memory://         -> in-process Map (lost on restart; for benchmarks and experiments)
 *   redis://...       -> Redis through @keyv/redis (shared by several gateway processes)
 */
export interface KvStores {
  readonly kind: 'file' | 'memory' | 'redis';
  /** Outcome of store operations, read by /health, /metrics and the logs. */
  readonly health: StoreHealth;
  /** `throwOnErrors`: reads that fail throw instead of answering undefined (for counters). */
  open<V>(namespace: string, opts?: { throwOnErrors?: boolean }): Keyv<V>;
  /** Every live [key, value] of a namespace (keys without the namespace prefix). */
  iterate<V>(namespace: string): AsyncGenerator<[string, V]>;
  /** The embedded store's free-space guard (kind 'file'), for other writers on its disk (index saves). */
  readonly diskReserve?: DiskReserve;
  /** The raw Redis client when kind is 'redis' (for atomic counters); undefined otherwise. */
  readonly redis?: RedisClientType;
  /**
   * Messages to the other gateway processes sharing this store (Redis pub/sub, scoped to this
   * store's database); undefined for stores only one process can open.
   */
  readonly broadcast?: Broadcast;
  /** Kept for callers of the old log store; LMDB and Redis make writes durable themselves. */
  sync(): void;
  close(): Promise<void>;
}

export interface Broadcast {
  publish(topic: string, message: string): Promise<void>;
  subscribe(topic: string, onMessage: (message: string) => void): Promise<void>;
}

export interface OpenKvOptions {
  /**
   * Take the one-gateway-per-store lock (default). Tools such as the keys CLI pass false: the
   * embedded database is multi-process safe, only a second gateway on it would be wrong.
   */
  lock?: boolean;
  /** Embedded store: free space kept on its file system, writes refused below it (default STORE_MIN_FREE_MB's). */
  minFreeBytes?: number;
}

export async function openKvStores(storeUrl: string | undefined, dataDir: string, opts: OpenKvOptions = {}): Promise<KvStores> {
  const url = storeUrl ?? 'file://';
  if (url.startsWith('redis://') || url.startsWith('rediss://')) return openRedis(url);
  if (url === 'memory://') return openMap('memory', new Map<string, string>());
  if (url.startsWith('file://')) return openFile(url.length > 'file://'.length ? url.slice('file://'.length) : path.join(dataDir, 'store.mdb'), opts.lock ?? true, opts.minFreeBytes ?? DEFAULT_STORE_MIN_FREE_MB * 1024 * 1024);
  throw new Error(`CACHE_STORE_URL must be file://[path], memory:// or redis://...; got a value with another scheme`);
}

/**
 * file://<path>: the LMDB file <base>.mdb, where <base> is the path without a .mdb or .log
 * extension; <base>.log, the store of earlier versions, is imported on first open.
 */
function openFile(given: string, lock: boolean, minFreeBytes: number): KvStores {
  const base = given.replace(/\.(mdb|log)$/, '');
  const file = `${base}.mdb`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const held = lock ? ProcessLock.acquire(`${file}.gateway-lock`, file) : undefined;
  const health = new StoreHealth();
  let store;
  try {
    store = openLmdbStore(file, health, { migrateFrom: `${base}.log`, minFreeBytes });
  } catch (err) {
    held?.release();
    throw err;
  }
  const lmdb = store;
  return {
    kind: 'file',
    health,
    diskReserve: lmdb.reserve,
    open: <V>(namespace: string, o: { throwOnErrors?: boolean } = {}) => new Keyv<V>({ store: lmdb.adapter(), namespace, ...o }),
    iterate: async function* <V>(namespace: string): AsyncGenerator<[string, V]> {
      const now = Date.now();
      for (const [key, raw] of lmdb.range(namespace)) {
        const data = JSON.parse(raw) as { value: V; expires?: number | null };
        if (typeof data.expires === 'number' && data.expires < now) continue;
        yield [key, data.value];
      }
    },
    sync: () => {},
    close: async () => {
      await lmdb.close();
      held?.release();
    },
  };
}

function openMap(
  kind: 'file' | 'memory',
  map: Map<string, string>,
  sync: () => void = () => {},
  close: () => void = () => {},
): KvStores {
  return {
    kind,
    health: new StoreHealth(),
    open: <V>(namespace: string, opts: { throwOnErrors?: boolean } = {}) => new Keyv<V>({ store: map, namespace, ...opts }),
    // keyv's own iterator filters by the namespace last set on the (shared) Map, so walk it here.
    iterate: async function* <V>(namespace: string): AsyncGenerator<[string, V]> {
      const prefix = `${namespace}:`;
      const now = Date.now();
      for (const [key, raw] of [...map.entries()]) {
        if (!key.startsWith(prefix)) continue;
        const data = JSON.parse(raw) as { value: V; expires?: number | null };
        if (typeof data.expires === 'number' && data.expires < now) continue;
        yield [key.slice(prefix.length), data.value];
      }
    },
    sync,
    close: async () => close(),
  };
}

async function openRedis(url: string): Promise<KvStores> {
  const client = createClient({ url }) as RedisClientType;
  // Surface connection problems as one clear startup error (without echoing the URL's password).
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`cannot connect to the Redis store given by CACHE_STORE_URL: ${(err as Error).message}`);
  }
  // Pub/sub channels are server-wide, not per database: name them after an id stored in this DB.
  await client.set('semcache:store-id', randomUUID(), { NX: true });
  const storeId = await client.get('semcache:store-id');
  let subscriber: RedisClientType | undefined;
  const readers = new Map<string, Keyv<unknown>>();
  // Every KeyvRedis adds its own error/connect/... listeners to the shared client. They are made
  // only by open() (once per namespace at start) and as the memoized readers below, so their
  // number is bounded by the namespaces in use: the listener limit grows by one per store made,
  // and Node's leak warning still fires for anything else that piles listeners up.
  const namespaceStore = (namespace: string) => {
    client.setMaxListeners(client.getMaxListeners() + 1);
    return new KeyvRedis(client, { namespace });
  };
  return {
    kind: 'redis',
    health: new StoreHealth(),
    redis: client,
    open: <V>(namespace: string, opts: { throwOnErrors?: boolean } = {}) => new Keyv<V>({ store: namespaceStore(namespace), namespace, ...opts }),
    iterate: async function* <V>(namespace: string): AsyncGenerator<[string, V]> {
      // One reader per namespace for the life of the store: every KeyvRedis adds its own listeners
      // to the shared client, so a new one per sweep or purge would pile them up without end.
      let kv = readers.get(namespace) as Keyv<V> | undefined;
      if (!kv) readers.set(namespace, (kv = new Keyv<V>({ store: namespaceStore(namespace), namespace })));
      for await (const [key, value] of kv.iterator!(namespace)) yield [String(key), value as V];
    },
    broadcast: {
      publish: async (topic, message) => {
        await client.publish(`semcache:${storeId}:${topic}`, message);
      },
      subscribe: async (topic, onMessage) => {
        if (!subscriber) {
          subscriber = client.duplicate() as RedisClientType;
          subscriber.on('error', () => {});
          await subscriber.connect();
        }
        await subscriber.subscribe(`semcache:${storeId}:${topic}`, (message: string) => onMessage(message));
      },
    },
    sync: () => {},
    close: async () => {
      if (subscriber?.isOpen) await subscriber.close();
      if (client.isOpen) await client.close();
    },
  };
}
