import type { KeyLimits } from './api-keys.js';

/**
 * The counters behind per-key limits, as one interface with two backends: Redis (atomic Lua
 * scripts, shared by every gateway process on the same Redis) and the gateway's own keyv store
 * (one process; persisted so limits survive a restart). Both take `now` from the caller, so
 * tests drive the windows with a fake clock.
 *
 * Windows are sliding: a request or a token reservation counts for `windowMs` after it was made.
 */

/** How full one sliding window is. */
export interface WindowUsage {
  limit: number;
  used: number;
  /** Milliseconds until the oldest entry leaves the window (0 when the window is empty). */
  resetMs: number;
}

export type AdmitResult =
  | { ok: true; requests?: WindowUsage; tokens?: WindowUsage }
  | { ok: false; rejected: 'requests' | 'concurrency'; retryAfterMs: number; requests?: WindowUsage; tokens?: WindowUsage };

export type ReserveResult =
  | { ok: true; tokens?: WindowUsage }
  /** `too_large`: the request alone needs more than the key's tpm; waiting will not help. */
  | { ok: false; rejected: 'tokens' | 'too_large' | 'budget'; retryAfterMs: number; tokens?: WindowUsage };

export interface LimitStore {
  /** Counts a request against rpm and takes a concurrency slot, or refuses without counting. */
  admit(keyId: string, leaseId: string, limits: KeyLimits, now: number): Promise<AdmitResult>;
  /** Reserves an estimate of a miss's tokens against tpm, and checks the day's budget. */
  reserveTokens(keyId: string, leaseId: string, tokens: number, limits: KeyLimits, now: number): Promise<ReserveResult>;
  /** Replaces a reservation with the real count (0 for an answer that cost nothing). */
  correctTokens(keyId: string, leaseId: string, tokens: number): Promise<void>;
  addSpend(keyId: string, microUsd: number, now: number): Promise<void>;
  /** Gives the concurrency slot back. */
  release(keyId: string, leaseId: string): Promise<void>;
  /** Micro-dollars spent today (UTC) by a key. */
  spentToday(keyId: string, now: number): Promise<number>;
}

export const WINDOW_MS = 60_000;
/**
 * A concurrency slot of a process that died is never released; it lapses after this long. Longer
 * than any request the gateway lets run.
 */
export const LEASE_MS = 15 * 60_000;

export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

export function msUntilUtcMidnight(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) - now;
}

/**
 * From token entries in time order, how long until enough of them leave the window for `needed`
 * more tokens to fit under `limit`.
 */
export function tokensRetryAfter(entries: ReadonlyArray<readonly [ts: number, tokens: number]>, used: number, needed: number, limit: number, now: number, windowMs: number): number {
  let freed = 0;
  for (const [ts, n] of entries) {
    freed += n;
    if (used - freed + needed <= limit) return Math.max(0, ts + windowMs - now);
  }
  return windowMs;
}
