import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Keyv } from 'keyv';
import KeyvRedis, { createClient, type RedisClientType } from '@keyv/redis';
import type { Broadcast, KvStores, StoreCall } from './kv.js';
import { StoreHealth, StoreUnavailableError, type StoreOp } from './store-health.js';

/**
 * CACHE_STORE_URL=redis://...: the store on Redis through @keyv/redis, with every command bounded.
 *
 * Without bounds a Redis outage hung the gateway: node-redis queues commands while it reconnects
 * and waits forever for a stalled server's reply, and keyv swallows errors (a failed write read as
 * success). Here:
 *  - every command (keyv adapters, limit scripts, pub/sub publishes, scans) is raced against
 *    `commandTimeoutMs`; a timeout or a connection error is a `connect` failure in StoreHealth
 *    (the store is unreachable), an error reply from the server (READONLY, OOM) a read or write
 *    failure of that command; keyv sees the error, so a refused write returns false;
 *  - the client does not queue while disconnected (disableOfflineQueue): commands fail at once;
 *  - a probe PINGs every PROBE_MS, so a stall is noticed without traffic and recovery is noticed
 *    while the cache is bypassed (nothing else then talks to the store);
 *  - the first connection must succeed within `connectTimeoutMs`, else opening fails with the URL
 *    (password removed) in the message.
 */

export interface RedisStoreOptions {
  /** Longest wait for any one store command (STORE_TIMEOUT_MS). */
  commandTimeoutMs: number;
  /** Longest wait for the first connection at start (STORE_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: number;
}

export const DEFAULT_REDIS_OPTIONS: RedisStoreOptions = { commandTimeoutMs: 1000, connectTimeoutMs: 5000 };

/** How often the store is PINGed (one probe in flight at a time). */
const PROBE_MS = 1000;

/** The URL as it may be shown: any password replaced by ***. */
export function redactStoreUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable URL>';
  }
}

/** An error the server replied with (READONLY, OOM, WRONGTYPE...), as opposed to no answer at all. */
function isServerReply(err: unknown): boolean {
  for (let p = err ? Object.getPrototypeOf(err) : null; p; p = Object.getPrototypeOf(p)) {
    if (p.constructor?.name === 'ErrorReply') return true;
  }
  return false;
}

class CommandTimeoutError extends StoreUnavailableError {}

export async function openRedisStores(url: string, options: RedisStoreOptions = DEFAULT_REDIS_OPTIONS): Promise<KvStores> {
  const shown = redactStoreUrl(url);
  const health = new StoreHealth();
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: options.connectTimeoutMs },
  }) as RedisClientType;
  // A lost connection is reported as soon as node-redis sees it (it then reconnects by itself).
  let connected = false;
  client.on('error', (err: Error) => {
    if (connected) health.markFailure('connect', err);
  });

  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no connection within ${options.connectTimeoutMs} ms (STORE_CONNECT_TIMEOUT_MS)`)), options.connectTimeoutMs);
      }),
    ]);
  } catch (err) {
    // Stop node-redis's reconnect loop, or the process would linger on it.
    client.destroy();
    throw new Error(`cannot connect to the Redis store at ${shown} (CACHE_STORE_URL): ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  connected = true;

  const call: StoreCall = async (op, fn) => {
    let t: NodeJS.Timeout | undefined;
    let armed: NodeJS.Immediate | undefined;
    try {
      const value = await Promise.race([
        fn(),
        new Promise<never>((_, reject) => {
          // Measured from when the command is on the wire (node-redis writes on the next check
          // phase, before this one) and rejected a turn after the timer, after pending replies are
          // read: a gateway whose own event loop was busy (a long embedding batch, a first token
          // count) must not take that for a store outage.
          armed = setImmediate(() => {
            t = setTimeout(() => {
              armed = setImmediate(() => reject(new CommandTimeoutError(`the Redis store did not answer within ${options.commandTimeoutMs} ms (STORE_TIMEOUT_MS)`)));
            }, options.commandTimeoutMs);
          });
        }),
      ]);
      health.markOk(op);
      health.markOk('connect');
      return value;
    } catch (err) {
      const serverSaid = isServerReply(err);
      health.markFailure(serverSaid ? op : 'connect', err);
      if (serverSaid || err instanceof StoreUnavailableError) throw err;
      throw new StoreUnavailableError(`the Redis store is unreachable: ${(err as Error).message}`);
    } finally {
      clearTimeout(t);
      if (armed) clearImmediate(armed);
    }
  };

  let storeId: string | null;
  try {
    await call('write', () => client.set('semcache:store-id', randomUUID(), { NX: true }));
    storeId = await call('read', () => client.get('semcache:store-id'));
  } catch (err) {
    client.destroy();
    throw new Error(`the Redis store at ${shown} (CACHE_STORE_URL) does not answer: ${(err as Error).message}`);
  }

  // One PING in flight at a time: a stalled server is not sent one more per tick.
  let pendingPing: Promise<unknown> | undefined;
  let pingSentAt = 0;
  const probe = setInterval(() => {
    if (pendingPing) {
      const waited = Date.now() - pingSentAt;
      if (waited > options.commandTimeoutMs) health.markFailure('connect', new StoreUnavailableError(`the Redis store has not answered a PING for ${waited} ms`));
      return;
    }
    pingSentAt = Date.now();
    const ping = client.ping();
    pendingPing = ping.then(
      () => (pendingPing = undefined),
      () => (pendingPing = undefined),
    );
    call('read', () => ping).catch(() => undefined);
  }, PROBE_MS);
  probe.unref();

  let subscriber: RedisClientType | undefined;
  const readers = new Map<string, KeyvRedis<unknown>>();
  // Every KeyvRedis adds its own error/connect/... listeners to the shared client. They are made
  // only by open() (once per namespace at start) and as the memoized readers below, so their
  // number is bounded by the namespaces in use: the listener limit grows by one per store made,
  // and Node's leak warning still fires for anything else that piles listeners up.
  const namespaceStore = (namespace: string) => {
    client.setMaxListeners(client.getMaxListeners() + 1);
    const store = new KeyvRedis<unknown>(client, { namespace, throwOnErrors: true, throwOnConnectError: true });
    // Failures reach the caller (and StoreHealth) through `call`; the adapter's own events are noise.
    store.on('error', () => {});
    return store;
  };

  const broadcast: Broadcast = {
    publish: async (topic, message) => {
      await call('write', () => client.publish(`semcache:${storeId}:${topic}`, message));
    },
    subscribe: async (topic, onMessage) => {
      if (!subscriber) {
        subscriber = client.duplicate() as RedisClientType;
        subscriber.on('error', () => {});
        await call('read', () => subscriber!.connect());
      }
      await call('read', () => subscriber!.subscribe(`semcache:${storeId}:${topic}`, (message: string) => onMessage(message)));
    },
  };

  return {
    kind: 'redis',
    health,
    redis: client,
    call,
    open: <V>(namespace: string, opts: { throwOnErrors?: boolean } = {}) =>
      new Keyv<V>({ store: new BoundedAdapter(namespaceStore(namespace), call), namespace, ...opts }),
    iterate: async function* <V>(namespace: string): AsyncGenerator<[string, V]> {
      // One reader per namespace for the life of the store: every KeyvRedis adds its own listeners
      // to the shared client, so a new one per sweep or purge would pile them up without end.
      let store = readers.get(namespace);
      if (!store) readers.set(namespace, (store = namespaceStore(namespace)));
      const kv = new Keyv<V>({ store, namespace });
      const it = kv.iterator!(namespace)[Symbol.asyncIterator]();
      for (;;) {
        const next = await call('read', () => it.next());
        if (next.done) return;
        const [key, value] = next.value as [unknown, V];
        yield [String(key), value];
      }
    },
    broadcast,
    sync: () => {},
    close: async () => {
      clearInterval(probe);
      if (subscriber?.isOpen) await subscriber.close().catch(() => subscriber?.destroy());
      // A stalled or gone server must not hold up a shutdown.
      if (client.isOpen) await call('write', () => client.close()).catch(() => client.destroy());
    },
  };
}

/**
 * keyv's store interface over a KeyvRedis (which throws on errors here), every call bounded and
 * reported through `call`. Keys are laid out exactly as KeyvRedis lays them out, so stores written
 * before this wrapper existed read the same.
 */
class BoundedAdapter extends EventEmitter {
  constructor(
    private readonly inner: KeyvRedis<unknown>,
    private readonly call: StoreCall,
  ) {
    super();
  }

  get opts() {
    return this.inner.opts;
  }

  get namespace(): string | undefined {
    return this.inner.namespace;
  }

  set namespace(value: string | undefined) {
    this.inner.namespace = value;
  }

  get(key: string) {
    return this.call('read', () => this.inner.get(key));
  }

  getMany(keys: string[]) {
    return this.call('read', () => this.inner.getMany(keys));
  }

  has(key: string) {
    return this.call('read', () => this.inner.has(key));
  }

  async set(key: string, value: string, ttl?: number): Promise<boolean> {
    await this.call('write', () => this.inner.set(key, value, ttl));
    return true;
  }

  delete(key: string) {
    return this.call('write', () => this.inner.delete(key));
  }

  clear() {
    return this.call('write', () => this.inner.clear());
  }

  async disconnect(): Promise<void> {}
}

export type { StoreOp };
