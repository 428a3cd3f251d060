import type { Keyv } from 'keyv';

/** The gateway's x-cache-status values. */
export type CacheStatus = 'hit' | 'semantic-hit' | 'miss' | 'bypass';

/** Lifetime counters of one tenant, one model, or everything. Money in integer micro-dollars. */
export interface UsageCounters {
  requests: number;
  /** Exact-match hits. */
  hits: number;
  semanticHits: number;
  misses: number;
  bypasses: number;
  /** Requests answered with an error status (counted in requests and in their cache status too). */
  errors: number;
  /** Tokens paid to the upstream. */
  promptTokens: number;
  completionTokens: number;
  /** Tokens the original call of a hit cost, which this request did not pay again. */
  savedTokens: number;
  costMicroUsd: number;
  savedMicroUsd: number;
}

export interface UsageTotals extends UsageCounters {
  costUsd: number;
  savedUsd: number;
}

/** One finished request, as the request path reports it. */
export interface TotalsRecord {
  tenant: string;
  model: string;
  cacheStatus: CacheStatus;
  error?: boolean;
  promptTokens?: number;
  completionTokens?: number;
  savedTokens?: number;
  /** From PriceTable.cost(...).microUsd. */
  costMicroUsd?: number;
  savedMicroUsd?: number;
}

export interface TotalsOptions {
  /** Key prefix inside the Keyv (on top of the Keyv's own namespace). Default "totals:". */
  keyPrefix?: string;
  /** How often buffered counts are written. Default 5000 ms; 0 disables the timer (flush by hand). */
  flushIntervalMs?: number;
  /** A background flush that failed; its counts stay buffered and go with the next flush. */
  onFlushError?: (err: unknown) => void;
}

const COUNTER_FIELDS = [
  'requests',
  'hits',
  'semanticHits',
  'misses',
  'bypasses',
  'errors',
  'promptTokens',
  'completionTokens',
  'savedTokens',
  'costMicroUsd',
  'savedMicroUsd',
] as const satisfies ReadonlyArray<keyof UsageCounters>;

export function emptyCounters(): UsageCounters {
  return {
    requests: 0,
    hits: 0,
    semanticHits: 0,
    misses: 0,
    bypasses: 0,
    errors: 0,
    promptTokens: 0,
    completionTokens: 0,
    savedTokens: 0,
    costMicroUsd: 0,
    savedMicroUsd: 0,
  };
}

/** Counters only ever grow by whole non-negative amounts; anything else from a caller is dropped. */
function wholeAmount(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.round(n) : 0;
}

/** A stored value read back: tolerate a missing key, an older shape or junk by treating it as 0. */
function countersFrom(raw: unknown): UsageCounters {
  const c = emptyCounters();
  if (raw && typeof raw === 'object') {
    const r = raw as Record<string, unknown>;
    for (const f of COUNTER_FIELDS) c[f] = wholeAmount(r[f]);
  }
  return c;
}

export function addInto(target: UsageCounters, delta: UsageCounters): void {
  for (const f of COUNTER_FIELDS) target[f] += delta[f];
}

export function withUsd(c: UsageCounters): UsageTotals {
  return { ...c, costUsd: c.costMicroUsd / 1e6, savedUsd: c.savedMicroUsd / 1e6 };
}

/** The counters one finished request adds (shared with the stats window). */
export function deltaOf(r: Omit<TotalsRecord, 'tenant' | 'model'>): UsageCounters {
  const d = emptyCounters();
  d.requests = 1;
  if (r.cacheStatus === 'hit') d.hits = 1;
  else if (r.cacheStatus === 'semantic-hit') d.semanticHits = 1;
  else if (r.cacheStatus === 'miss') d.misses = 1;
  else d.bypasses = 1;
  if (r.error) d.errors = 1;
  d.promptTokens = wholeAmount(r.promptTokens);
  d.completionTokens = wholeAmount(r.completionTokens);
  d.savedTokens = wholeAmount(r.savedTokens);
  d.costMicroUsd = wholeAmount(r.costMicroUsd);
  d.savedMicroUsd = wholeAmount(r.savedMicroUsd);
  return d;
}

interface IndexDoc {
  tenants: string[];
  models: string[];
}

/**
 * Lifetime totals per tenant and per model, kept in a Keyv so they survive a restart.
 *
 * record() only adds to an in-memory buffer (the request path never waits on the store); the buffer
 * is written on an interval and on close(). A write is read-add-write per key, so one gateway
 * process is exact; several processes sharing one store can lose the counts of a flush that races
 * another process's flush of the same key.
 *
 * Keyv's get() hides store errors (it answers undefined) unless the Keyv has `throwOnErrors: true`;
 * give this class such a Keyv for a store that can fail (Redis), so a failed read aborts the flush and
 * keeps the counts buffered instead of restarting a key's totals from zero. A failed write (set()
 * answering false) always does.
 *
 * Every store operation (flushes and reads) runs one at a time through a queue, so a read never
 * sees a batch half-written, nor counts a batch twice.
 */
export class UsageTotalsStore {
  private pending = new Map<string, UsageCounters>();
  /** What this process last wrote per key; see atLeastLastKnown. */
  private readonly lastKnown = new Map<string, UsageCounters>();
  private readonly indexedTenants = new Set<string>();
  private readonly indexedModels = new Set<string>();
  private pendingTenants = new Set<string>();
  private pendingModels = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly prefix: string;

  constructor(
    private readonly kv: Keyv,
    private readonly options: TotalsOptions = {},
  ) {
    this.prefix = options.keyPrefix ?? 'totals:';
    const every = options.flushIntervalMs ?? 5000;
    if (every > 0) {
      this.timer = setInterval(() => {
        this.flush().catch((err: unknown) => this.options.onFlushError?.(err));
      }, every);
      // Totals must not keep a process alive that is otherwise done.
      this.timer.unref();
    }
  }

  private key(kind: 'all' | 'index' | 'tenant' | 'model', name = ''): string {
    return kind === 'all' || kind === 'index' ? `${this.prefix}${kind}` : `${this.prefix}${kind}:${name}`;
  }

  private buffer(key: string, delta: UsageCounters): void {
    const cur = this.pending.get(key);
    if (cur) addInto(cur, delta);
    else this.pending.set(key, { ...delta });
  }

  /** Count one finished request. Synchronous and never throws on odd input. */
  record(r: TotalsRecord): void {
    if (this.closed) throw new Error('UsageTotalsStore is closed');
    const delta = deltaOf(r);
    this.buffer(this.key('all'), delta);
    this.buffer(this.key('tenant', r.tenant), delta);
    this.buffer(this.key('model', r.model), delta);
    this.pendingTenants.add(r.tenant);
    this.pendingModels.add(r.model);
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Write everything buffered. On failure the unwritten counts go back into the buffer. */
  flush(): Promise<void> {
    return this.serial(() => this.writeBuffered());
  }

  private async writeBuffered(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    const tenants = this.pendingTenants;
    const models = this.pendingModels;
    this.pending = new Map();
    this.pendingTenants = new Set();
    this.pendingModels = new Set();
    const written = new Set<string>();
    try {
      const index = await this.readIndex();
      const newTenants = [...tenants].filter((t) => !index.tenants.includes(t));
      const newModels = [...models].filter((m) => !index.models.includes(m));
      if (newTenants.length || newModels.length) {
        const ok = await this.kv.set(this.key('index'), {
          tenants: [...index.tenants, ...newTenants],
          models: [...index.models, ...newModels],
        } satisfies IndexDoc);
        if (!ok) throw new Error('totals: store refused to write the index');
      }
      for (const t of newTenants) this.indexedTenants.add(t);
      for (const m of newModels) this.indexedModels.add(m);
      for (const [key, delta] of batch) {
        const next = this.atLeastLastKnown(key, countersFrom(await this.kv.get(key)));
        addInto(next, delta);
        if (!(await this.kv.set(key, next))) throw new Error(`totals: store refused to write ${key}`);
        this.lastKnown.set(key, { ...next });
        written.add(key);
      }
    } catch (err) {
      for (const [key, delta] of batch) if (!written.has(key)) this.buffer(key, delta);
      for (const t of tenants) this.pendingTenants.add(t);
      for (const m of models) this.pendingModels.add(m);
      throw err;
    }
  }

  /**
   * Counters never go down, so a stored value below what this process last wrote is a failed read
   * (Keyv's get() answers undefined on a store error unless throwOnErrors is set): start from the
   * value we know instead of overwriting the lifetime totals with one batch.
   */
  private atLeastLastKnown(key: string, stored: UsageCounters): UsageCounters {
    const known = this.lastKnown.get(key);
    if (known) for (const f of COUNTER_FIELDS) stored[f] = Math.max(stored[f], known[f]);
    return stored;
  }

  /** Every tenant and model name recorded so far (persisted and buffered). */
  names(): Promise<{ tenants: string[]; models: string[] }> {
    return this.serial(async () => {
      const index = await this.readIndex();
      return { tenants: [...new Set([...index.tenants, ...this.pendingTenants])], models: [...new Set([...index.models, ...this.pendingModels])] };
    });
  }

  private async readIndex(): Promise<IndexDoc> {
    const raw = (await this.kv.get(this.key('index'))) as Partial<IndexDoc> | undefined;
    const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    // Union with the names this process already wrote, for the same reason as atLeastLastKnown.
    const union = (stored: string[], known: Set<string>) => [...new Set([...stored, ...known])];
    return { tenants: union(strings(raw?.tenants), this.indexedTenants), models: union(strings(raw?.models), this.indexedModels) };
  }

  /** Stored plus still-buffered counts of one key. Call inside serial(). */
  private async current(key: string): Promise<UsageTotals> {
    const c = this.atLeastLastKnown(key, countersFrom(await this.kv.get(key)));
    const buffered = this.pending.get(key);
    if (buffered) addInto(c, buffered);
    return withUsd(c);
  }

  overall(): Promise<UsageTotals> {
    return this.serial(() => this.current(this.key('all')));
  }

  tenant(tenant: string): Promise<UsageTotals> {
    return this.serial(() => this.current(this.key('tenant', tenant)));
  }

  model(model: string): Promise<UsageTotals> {
    return this.serial(() => this.current(this.key('model', model)));
  }

  /** Totals of every tenant ever recorded. */
  tenants(): Promise<Record<string, UsageTotals>> {
    return this.serial(() => this.all('tenant', (i) => i.tenants, this.pendingTenants));
  }

  /** Totals of every model ever recorded. */
  models(): Promise<Record<string, UsageTotals>> {
    return this.serial(() => this.all('model', (i) => i.models, this.pendingModels));
  }

  private async all(kind: 'tenant' | 'model', names: (i: IndexDoc) => string[], buffered: Set<string>): Promise<Record<string, UsageTotals>> {
    const all = new Set([...names(await this.readIndex()), ...buffered]);
    const out: Record<string, UsageTotals> = {};
    for (const name of [...all].sort()) out[name] = await this.current(this.key(kind, name));
    return out;
  }

  /** Stop the timer and write what is buffered. Does not close the Keyv: the caller owns it. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.closed = true;
    await this.flush();
  }
}
