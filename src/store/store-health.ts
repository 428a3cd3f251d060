/**
 * One health record for the gateway's store, whatever the backend (embedded LMDB, Redis): the
 * store code reports each operation's outcome here, and /health, /metrics and the logs read it.
 *
 * Failures are tracked per kind of operation, because backends fail differently: a full disk
 * fails writes while reads still work (a successful read must not clear a write failure), while
 * a Redis outage fails everything. A kind is failing from a failure until a success of that kind
 * at least `holdMs` after its last failure: on a nearly full disk small writes still succeed between
 * failing large ones, and /health must not flap between ok and degraded with each of them.
 *
 * `connect` failures mean the store cannot be reached at all (Redis down, stalled past
 * STORE_TIMEOUT_MS, refusing connections): while they last the store is `unreachable`, the cache
 * is bypassed and gateway keys and limits fail closed. A store that only refuses writes (a full
 * disk, a read-only Redis) is degraded but reachable: hits are still served.
 */
export type StoreOp = 'read' | 'write' | 'connect';

export interface StoreHealthSnapshot {
  status: 'ok' | 'degraded';
  /** Why it is degraded: the failing operation kinds and their last error. */
  reason?: string;
  /** ISO time the current degradation began. */
  since?: string;
  /** Failures of each kind since start. */
  failures: Record<StoreOp, number>;
}

export type StoreHealthEvent =
  | { type: 'failure'; op: StoreOp; error: Error; /** first failure of a streak */ began: boolean }
  | { type: 'recovered'; op: StoreOp; downMs: number };

export type StoreHealthListener = (event: StoreHealthEvent) => void;

export class StoreHealth {
  private readonly failing = new Map<StoreOp, { message: string; since: number; last: number }>();
  private readonly counts: Record<StoreOp, number> = { read: 0, write: 0, connect: 0 };
  private readonly listeners: StoreHealthListener[] = [];

  constructor(
    private readonly now: () => number = Date.now,
    private readonly holdMs = 5000,
  ) {}

  /** Logs and metrics subscribe here (server wiring); the store only reports. */
  on(listener: StoreHealthListener): void {
    this.listeners.push(listener);
  }

  markFailure(op: StoreOp, err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.counts[op]++;
    const began = !this.failing.has(op);
    const current = this.failing.get(op);
    const now = this.now();
    this.failing.set(op, { message: error.message, since: current?.since ?? now, last: now });
    this.emit({ type: 'failure', op, error, began });
  }

  markOk(op: StoreOp): void {
    const current = this.failing.get(op);
    if (!current || this.now() - current.last < this.holdMs) return;
    this.failing.delete(op);
    this.emit({ type: 'recovered', op, downMs: this.now() - current.since });
  }

  /** Whether operations of this kind are failing now. */
  isFailing(op: StoreOp): boolean {
    return this.failing.has(op);
  }

  get degraded(): boolean {
    return this.failing.size > 0;
  }

  /** The store cannot be reached (a `connect` failure streak is on): nothing should wait on it. */
  get unreachable(): boolean {
    return this.failing.has('connect');
  }

  /** Failures of one kind since start (a Prometheus counter reads this). */
  failureCount(op: StoreOp): number {
    return this.counts[op];
  }

  snapshot(): StoreHealthSnapshot {
    const failures = { ...this.counts };
    if (this.failing.size === 0) return { status: 'ok', failures };
    const parts = [...this.failing].map(([op, f]) => `store ${op} failing: ${f.message}`);
    const since = Math.min(...[...this.failing.values()].map((f) => f.since));
    return { status: 'degraded', reason: parts.join('; '), since: new Date(since).toISOString(), failures };
  }

  private emit(event: StoreHealthEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        /* a broken listener must not turn a store report into a request failure */
      }
    }
  }
}

/**
 * A store operation that could not be done because the store is unreachable (or did not answer in
 * time). Callers that must not guess (gateway keys, limits) turn it into 503 store_unavailable.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}
