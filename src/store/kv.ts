import fs from 'node:fs';
import path from 'node:path';
import { Keyv } from 'keyv';
import type { RedisClientType } from '@keyv/redis';
import { DEFAULT_STORE_MIN_FREE_MB, type DiskReserve } from './disk-reserve.js';
import { openLmdbStore } from './lmdb-store.js';
import { ProcessLock } from './process-lock.js';
import { DEFAULT_REDIS_OPTIONS, openRedisStores, type RedisStoreOptions } from './redis-store.js';
import { StoreHealth, type StoreOp } from './store-health.js';

/**
 * Storage is chosen by CACHE_STORE_URL and handed out as keyv instances, one per namespace
 * (entries, exact keys, totals, gateway keys, limits...). Modules never know which backend runs.
 *   unset / file://   -> embedded LMDB database, DATA_DIR/store.mdb or file://<path> (survives
 *                        restarts, no server; an earlier version's store.log is imported once)
 *   memory://         -> in-process Map (lost on restart; for benchmarks and experiments)
 *   redis://...       -> Redis through @keyv/redis (shared by several gateway processes), every
 *                        command bounded by STORE_TIMEOUT_MS (src/store/redis-store.ts)
 */

/**
 * Runs one raw store command bounded in time, reporting its outcome to the store's health; throws
 * StoreUnavailableError when the store did not answer (for the Redis limit scripts and pub/sub).
 */
export type StoreCall = <T>(op: Exclude<StoreOp, 'connect'>, fn: () => Promise<T>) => Promise<T>;

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
  /** With `redis`: how raw commands on it are run (bounded, reported to `health`). */
  readonly call?: StoreCall;
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
  /** Redis only: command and first-connection timeouts (STORE_TIMEOUT_MS, STORE_CONNECT_TIMEOUT_MS). */
  redis?: RedisStoreOptions;
}

export async function openKvStores(storeUrl: string | undefined, dataDir: string, opts: OpenKvOptions = {}): Promise<KvStores> {
  const url = storeUrl ?? 'file://';
  if (url.startsWith('redis://') || url.startsWith('rediss://')) return openRedisStores(url, opts.redis ?? DEFAULT_REDIS_OPTIONS);
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
