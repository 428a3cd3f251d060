import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { DiskReserve } from './disk-reserve.js';
import { readLegacyLog } from './legacy-log.js';
import { fsyncDir } from './process-lock.js';
import type { StoreHealth } from './store-health.js';

/**
 * The embedded store: one LMDB database file (npm `lmdb`, prebuilt binaries), keys
 * "<namespace>:<key>", values the strings keyv serializes. LMDB gives what the old hand-written
 * log did not: each write is a transaction (all or nothing, a full disk fails the commit and
 * leaves the data as it was), a crash cannot tear a record, opening is O(1) rather than a replay,
 * values stay on disk (memory-mapped, paged in when read), and several processes may open the
 * file at once (the keys CLI works while the gateway runs).
 *
 * Writes are asynchronous and batched by lmdb-js into one transaction per event-loop turn; a
 * `set` resolves once its transaction is committed (in the OS page cache, so a SIGKILL loses
 * nothing acknowledged); lmdb-js syncs to disk right after each commit (overlappingSync).
 */
export interface LmdbStore {
  readonly db: RootDatabase<string, string>;
  /** Free-space guard on the database's file system (every write of the store goes through it). */
  readonly reserve: DiskReserve;
  /** A keyv store adapter over the database (one per keyv instance: keyv sets its namespace on it). */
  adapter(): LmdbKeyvAdapter;
  /** Live [key, serialized value] pairs whose key starts with "<namespace>:" (key without it). */
  range(namespace: string): Iterable<[string, string]>;
  close(): Promise<void>;
}

export interface LmdbStoreOptions {
  /** An earlier version's store.log to import once. */
  migrateFrom?: string;
  /** Free space to keep on the store's file system: writes that would eat into it are refused (0: no check). */
  minFreeBytes?: number;
}

export function openLmdbStore(file: string, health: StoreHealth, opts: LmdbStoreOptions = {}): LmdbStore {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  guardStrayCommitRejections();
  const reserve = new DiskReserve(path.dirname(file), opts.minFreeBytes ?? 0);
  const db = open<string, string>({ path: file, encoding: 'string', compression: false });
  if (opts.migrateFrom && fs.existsSync(opts.migrateFrom)) {
    try {
      reserve.admit(fs.statSync(opts.migrateFrom).size);
    } catch (err) {
      void db.close();
      throw new Error(`cannot import ${opts.migrateFrom} into the embedded store: ${(err as Error).message}`);
    }
    migrateLegacyLog(db, opts.migrateFrom);
  }
  const probe = new WriteProbe(new LmdbKeyvAdapter(db, health, reserve), health);
  return {
    db,
    reserve,
    adapter: () => new LmdbKeyvAdapter(db, health, reserve),
    range: (namespace) => rangeOf(db, namespace),
    close: () => {
      probe.stop();
      return db.close();
    },
  };
}

function* rangeOf(db: RootDatabase<string, string>, namespace: string): Iterable<[string, string]> {
  const prefix = `${namespace}:`;
  // ';' is the character after ':', so [prefix, namespace;) is exactly the namespace's keys.
  for (const { key, value } of db.getRange({ start: prefix, end: `${namespace};` })) {
    if (typeof key === 'string' && typeof value === 'string') yield [key.slice(prefix.length), value];
  }
}

/**
 * One-time import of an earlier version's store.log: read once, front to back (torn records
 * skipped, not fatal), written in one transaction, then the log is renamed to store.log.migrated.
 * A crash before the rename re-runs the import, which writes the same final state again.
 */
function migrateLegacyLog(db: RootDatabase<string, string>, logFile: string): void {
  const { data, torn } = readLegacyLog(logFile);
  db.transactionSync(() => {
    for (const [k, v] of data) db.putSync(k, v);
  });
  fs.renameSync(logFile, `${logFile}.migrated`);
  fsyncDir(path.dirname(logFile));
  if (torn > 0) process.emitWarning(`store.log migration skipped ${torn} torn record(s)`, { code: 'SEMCACHE_MIGRATION' });
}

/**
 * While writes are failing, one tiny write a second (through the same checks as every write), so
 * that the store is seen healthy again once space is back even when no request writes anything:
 * /health must not stay degraded on an idle gateway.
 */
class WriteProbe {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly adapter: LmdbKeyvAdapter,
    private readonly health: StoreHealth,
    private readonly everyMs = 1000,
  ) {
    health.on((e) => {
      if (e.type === 'failure' && e.op === 'write') this.start();
    });
  }

  private start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (!this.health.isFailing('write')) return this.stop();
      this.adapter.set(PROBE_KEY, String(Date.now())).catch(() => undefined);
    }, this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Outside every keyv namespace ("<namespace>:<key>"), so no range or clear ever sees it. */
const PROBE_KEY = 'semcache-store:write-probe';

/** keyv's store interface (get/set/delete/clear/has/getMany) over the shared LMDB database. */
export class LmdbKeyvAdapter extends EventEmitter {
  readonly opts = { dialect: 'lmdb' };
  namespace?: string;

  constructor(
    private readonly db: RootDatabase<string, string>,
    private readonly health: StoreHealth,
    private readonly reserve: DiskReserve,
  ) {
    super();
  }

  async get(key: string): Promise<string | undefined> {
    return this.read(() => this.db.get(key));
  }

  async getMany(keys: string[]): Promise<Array<string | undefined>> {
    return this.read(() => keys.map((k) => this.db.get(k)));
  }

  async has(key: string): Promise<boolean> {
    return this.read(() => this.db.doesExist(key));
  }

  async set(key: string, value: string): Promise<boolean> {
    await this.write(Buffer.byteLength(key) + Buffer.byteLength(value), () => this.db.put(key, value));
    return true;
  }

  async delete(key: string): Promise<boolean> {
    const had = this.db.doesExist(key);
    await this.write(Buffer.byteLength(key), () => this.db.remove(key));
    return had;
  }

  /** Clears this adapter's namespace only: the database is shared by every namespace. */
  async clear(): Promise<void> {
    if (!this.namespace) throw new Error('refusing to clear the whole embedded store');
    const keys = [...rangeOf(this.db, this.namespace)].map(([k]) => `${this.namespace}:${k}`);
    await this.write(keys.reduce((n, k) => n + Buffer.byteLength(k), 0), () =>
      this.db.transaction(() => {
        for (const k of keys) this.db.removeSync(k);
      }),
    );
  }

  async disconnect(): Promise<void> {}

  private read<T>(op: () => T): T {
    try {
      const v = op();
      this.health.markOk('read');
      return v;
    } catch (err) {
      this.health.markFailure('read', err);
      throw err;
    }
  }

  /**
   * One write of about `bytes`: refused before it reaches lmdb when the disk is nearly full
   * (DiskReserve: lmdb must never meet ENOSPC inside a commit), reported to StoreHealth either way.
   */
  private async write(bytes: number, op: () => Promise<unknown>): Promise<void> {
    try {
      this.reserve.admit(bytes);
    } catch (err) {
      this.health.markFailure('write', err);
      throw err;
    }
    try {
      await op();
      this.health.markOk('write');
    } catch (err) {
      const cause = await commitCause(err);
      this.health.markFailure('write', cause);
      throw cause;
    }
  }
}

/** lmdb-js rejects with "Commit failed (see commitError for details)"; the reason (ENOSPC...) is in commitError. */
async function commitCause(err: unknown): Promise<Error> {
  const commitError = (err as { commitError?: Promise<unknown> } | undefined)?.commitError;
  if (!commitError) return err instanceof Error ? err : new Error(String(err));
  const cause = await Promise.race([
    commitError.then(
      () => undefined,
      (e: unknown) => e,
    ),
    new Promise<undefined>((r) => setTimeout(r, 100)),
  ]);
  return cause instanceof Error ? cause : (err as Error);
}

let guarded = false;
/**
 * When a commit fails (disk full), lmdb-js also rejects promises nobody holds (its commitError
 * promise and the shared commit promise of the batch), which Node would turn into a crash. The
 * failure reaches the caller of each write, so those copies are dropped here; any other unhandled
 * rejection keeps Node's default behaviour (it is rethrown as an uncaught exception).
 */
function guardStrayCommitRejections(): void {
  if (guarded) return;
  guarded = true;
  const handler = (reason: unknown) => {
    if (isLmdbCommitFailure(reason)) return;
    if (process.listenerCount('unhandledRejection') === 1) throw reason;
  };
  process.on('unhandledRejection', handler);
}

function isLmdbCommitFailure(reason: unknown): boolean {
  if (!(reason instanceof Error)) return false;
  if ('commitError' in reason) return true;
  return /node_modules[\\/]lmdb[\\/]write\.js/.test(reason.stack ?? '') && typeof (reason as { code?: unknown }).code === 'number';
}
