import type { Keyv } from 'keyv';
import type { KeyLimits } from './api-keys.js';
import { msUntilUtcMidnight, tokensRetryAfter, utcDay, WINDOW_MS, type AdmitResult, type LimitStore, type ReserveResult, type WindowUsage } from './limit-store.js';

interface KeyWindows {
  /** [timestamp, leaseId] per counted request, oldest first. */
  requests: Array<[number, string]>;
  /** [timestamp, leaseId, tokens] per reservation, oldest first. */
  tokens: Array<[number, string, number]>;
}

/**
 * Limits in the gateway's own keyv store (file or memory backend): the windows of a key live in
 * memory while the process runs and are written through after every change, so a restarted
 * gateway starts from where the last one stopped. Only one process opens a file store (it holds a
 * lock), which makes check-then-update here atomic. Concurrency slots are not persisted: a
 * restart ends every request in flight.
 */
export class LocalLimitStore implements LimitStore {
  private readonly windows = new Map<string, Promise<KeyWindows>>();
  private readonly spend = new Map<string, Promise<{ microUsd: number }>>();
  private readonly inFlight = new Map<string, Set<string>>();

  constructor(
    private readonly kv: Keyv<unknown>,
    private readonly windowMs = WINDOW_MS,
  ) {}

  private load(keyId: string): Promise<KeyWindows> {
    let p = this.windows.get(keyId);
    if (!p) {
      p = this.kv.get(`windows:${keyId}`).then((v) => (v as KeyWindows | undefined) ?? { requests: [], tokens: [] });
      this.windows.set(keyId, p);
    }
    return p;
  }

  private loadSpend(keyId: string, day: string): Promise<{ microUsd: number }> {
    const k = `usd:${keyId}:${day}`;
    let p = this.spend.get(k);
    if (!p) {
      p = this.kv.get(k).then((v) => ({ microUsd: typeof v === 'number' ? v : 0 }));
      this.spend.set(k, p);
    }
    return p;
  }

  private async save(keyId: string, w: KeyWindows): Promise<void> {
    await this.kv.set(`windows:${keyId}`, w, this.windowMs + 1000);
  }

  private prune(w: KeyWindows, now: number): void {
    const cutoff = now - this.windowMs;
    while (w.requests.length && w.requests[0]![0] <= cutoff) w.requests.shift();
    while (w.tokens.length && w.tokens[0]![0] <= cutoff) w.tokens.shift();
  }

  private usage(w: KeyWindows, limits: KeyLimits, now: number): { requests?: WindowUsage; tokens?: WindowUsage } {
    const reset = (oldest: number | undefined) => (oldest === undefined ? 0 : Math.max(0, oldest + this.windowMs - now));
    return {
      requests: limits.rpm ? { limit: limits.rpm, used: w.requests.length, resetMs: reset(w.requests[0]?.[0]) } : undefined,
      tokens: limits.tpm ? { limit: limits.tpm, used: w.tokens.reduce((s, t) => s + t[2], 0), resetMs: reset(w.tokens[0]?.[0]) } : undefined,
    };
  }

  async admit(keyId: string, leaseId: string, limits: KeyLimits, now: number): Promise<AdmitResult> {
    const w = await this.load(keyId);
    this.prune(w, now);
    const before = this.usage(w, limits, now);
    if (limits.rpm && w.requests.length >= limits.rpm) {
      return { ok: false, rejected: 'requests', retryAfterMs: before.requests!.resetMs, ...before };
    }
    const slots = this.inFlight.get(keyId) ?? new Set<string>();
    if (limits.concurrency && slots.size >= limits.concurrency) {
      return { ok: false, rejected: 'concurrency', retryAfterMs: 1000, ...before };
    }
    if (limits.concurrency) this.inFlight.set(keyId, slots.add(leaseId));
    if (limits.rpm) {
      w.requests.push([now, leaseId]);
      await this.save(keyId, w);
    }
    return { ok: true, ...this.usage(w, limits, now) };
  }

  async reserveTokens(keyId: string, leaseId: string, tokens: number, limits: KeyLimits, now: number): Promise<ReserveResult> {
    // Both loads first: from here to the push nothing awaits, so concurrent reservations cannot interleave.
    const spent = limits.dailyUsd !== undefined ? await this.loadSpend(keyId, utcDay(now)) : undefined;
    const w = await this.load(keyId);
    this.prune(w, now);
    const before = this.usage(w, limits, now);
    if (spent && limits.dailyUsd !== undefined && spent.microUsd >= limits.dailyUsd * 1e6) {
      return { ok: false, rejected: 'budget', retryAfterMs: msUntilUtcMidnight(now), ...before };
    }
    if (!limits.tpm) return { ok: true };
    if (tokens > limits.tpm) return { ok: false, rejected: 'too_large', retryAfterMs: 0, ...before };
    const used = before.tokens!.used;
    if (used + tokens > limits.tpm) {
      const retryAfterMs = tokensRetryAfter(w.tokens.map(([ts, , n]) => [ts, n] as const), used, tokens, limits.tpm, now, this.windowMs);
      return { ok: false, rejected: 'tokens', retryAfterMs, ...before };
    }
    w.tokens.push([now, leaseId, tokens]);
    await this.save(keyId, w);
    return { ok: true, tokens: this.usage(w, limits, now).tokens };
  }

  async correctTokens(keyId: string, leaseId: string, tokens: number): Promise<void> {
    const w = await this.load(keyId);
    const entry = w.tokens.find((t) => t[1] === leaseId);
    if (!entry || entry[2] === tokens) return;
    entry[2] = tokens;
    await this.save(keyId, w);
  }

  async addSpend(keyId: string, microUsd: number, now: number): Promise<void> {
    if (!(microUsd > 0)) return;
    const day = utcDay(now);
    const spent = await this.loadSpend(keyId, day);
    spent.microUsd += Math.round(microUsd);
    await this.kv.set(`usd:${keyId}:${day}`, spent.microUsd, 2 * 86_400_000);
  }

  async spentToday(keyId: string, now: number): Promise<number> {
    return (await this.loadSpend(keyId, utcDay(now))).microUsd;
  }

  async release(keyId: string, leaseId: string): Promise<void> {
    this.inFlight.get(keyId)?.delete(leaseId);
  }
}
