import type { RedisClientType } from '@keyv/redis';
import type { StoreCall } from '../store/kv.js';
import type { KeyLimits } from './api-keys.js';
import { LEASE_MS, msUntilUtcMidnight, utcDay, WINDOW_MS, type AdmitResult, type LimitStore, type ReserveResult, type WindowUsage } from './limit-store.js';

/**
 * Limits in Redis, shared by every gateway process that uses the same Redis. Each check-and-count
 * is one Lua script, so two processes can never both take the last slot. Per key (the `{id}` hash
 * tag keeps a key's data on one cluster slot):
 *   <prefix>{id}:req       sorted set  leaseId -> time       (requests in the window)
 *   <prefix>{id}:inflight  sorted set  leaseId -> start time (concurrency; lapses after LEASE_MS)
 *   <prefix>{id}:tokz      sorted set  leaseId -> time       (token reservations in the window)
 *   <prefix>{id}:tokh      hash        leaseId -> tokens
 *   <prefix>{id}:usd:<day> integer     micro-dollars spent that UTC day
 */

const TOKEN_HELPERS = `
local function prune_tokens(z, h, cutoff)
  local old = redis.call('ZRANGEBYSCORE', z, '-inf', cutoff)
  for _, m in ipairs(old) do redis.call('HDEL', h, m) end
  if #old > 0 then redis.call('ZREMRANGEBYSCORE', z, '-inf', cutoff) end
end
local function token_entries(z, h)
  local rows = redis.call('ZRANGE', z, 0, -1, 'WITHSCORES')
  local used, entries = 0, {}
  for i = 1, #rows, 2 do
    local n = tonumber(redis.call('HGET', h, rows[i]) or '0')
    used = used + n
    entries[#entries + 1] = { tonumber(rows[i + 1]), n }
  end
  return used, entries
end
`;

/** KEYS: req, inflight, tokz, tokh. ARGV: now, window, rpm, concurrency, leaseId, leaseMs. */
const ADMIT = `${TOKEN_HELPERS}
local now, win = tonumber(ARGV[1]), tonumber(ARGV[2])
local rpm, conc, id, lease = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - lease)
prune_tokens(KEYS[3], KEYS[4], now - win)
local function oldest(z)
  local first = redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')
  if first[2] then return tonumber(first[2]) end
  return -1
end
local tokUsed = token_entries(KEYS[3], KEYS[4])
local count = redis.call('ZCARD', KEYS[1])
if rpm > 0 and count >= rpm then return { 0, 'requests', count, oldest(KEYS[1]), tokUsed, oldest(KEYS[3]) } end
if conc > 0 and redis.call('ZCARD', KEYS[2]) >= conc then return { 0, 'concurrency', count, oldest(KEYS[1]), tokUsed, oldest(KEYS[3]) } end
if conc > 0 then
  redis.call('ZADD', KEYS[2], now, id)
  redis.call('PEXPIRE', KEYS[2], lease)
end
if rpm > 0 then
  redis.call('ZADD', KEYS[1], now, id)
  redis.call('PEXPIRE', KEYS[1], win + 1000)
  count = count + 1
end
return { 1, '', count, oldest(KEYS[1]), tokUsed, oldest(KEYS[3]) }
`;

/** KEYS: tokz, tokh, usd. ARGV: now, window, tpm, tokens, leaseId, budgetMicroUsd. */
const RESERVE = `${TOKEN_HELPERS}
local now, win, tpm, n, id, budget = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
prune_tokens(KEYS[1], KEYS[2], now - win)
local used, entries = token_entries(KEYS[1], KEYS[2])
local oldest = -1
if entries[1] then oldest = entries[1][1] end
if budget >= 0 and tonumber(redis.call('GET', KEYS[3]) or '0') >= budget then return { 0, 'budget', used, oldest, 0 } end
if tpm <= 0 then return { 1, '', used, oldest, 0 } end
if n > tpm then return { 0, 'too_large', used, oldest, 0 } end
if used + n > tpm then
  local freed = 0
  for _, e in ipairs(entries) do
    freed = freed + e[2]
    if used - freed + n <= tpm then return { 0, 'tokens', used, oldest, e[1] + win - now } end
  end
  return { 0, 'tokens', used, oldest, win }
end
redis.call('ZADD', KEYS[1], now, id)
redis.call('HSET', KEYS[2], id, n)
redis.call('PEXPIRE', KEYS[1], win + 1000)
redis.call('PEXPIRE', KEYS[2], win + 1000)
if oldest < 0 then oldest = now end
return { 1, '', used + n, oldest, 0 }
`;

/** KEYS: tokz, tokh. ARGV: leaseId, tokens. Only a reservation still in the window is corrected. */
const CORRECT = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
return 1
`;

type Reply = [number, string, number, number, number, number?];

export class RedisLimitStore implements LimitStore {
  constructor(
    private readonly redis: RedisClientType,
    private readonly prefix = 'gw:limits:',
    private readonly windowMs = WINDOW_MS,
    /** How each command runs: the gateway bounds it in time and reports it to the store's health. */
    private readonly call: StoreCall = (_op, fn) => fn(),
  ) {}

  private key(keyId: string, part: string): string {
    return `${this.prefix}{${keyId}}:${part}`;
  }

  private async run(script: string, keys: string[], args: Array<string | number>): Promise<Reply> {
    return (await this.call('write', () => this.redis.eval(script, { keys, arguments: args.map(String) }))) as unknown as Reply;
  }

  private window(limit: number | undefined, used: number, oldest: number, now: number): WindowUsage | undefined {
    if (!limit) return undefined;
    return { limit, used, resetMs: oldest < 0 ? 0 : Math.max(0, oldest + this.windowMs - now) };
  }

  async admit(keyId: string, leaseId: string, limits: KeyLimits, now: number): Promise<AdmitResult> {
    const [ok, reason, count, oldestReq, tokUsed, oldestTok] = await this.run(
      ADMIT,
      [this.key(keyId, 'req'), this.key(keyId, 'inflight'), this.key(keyId, 'tokz'), this.key(keyId, 'tokh')],
      [now, this.windowMs, limits.rpm ?? 0, limits.concurrency ?? 0, leaseId, LEASE_MS],
    );
    const requests = this.window(limits.rpm, count, oldestReq, now);
    const tokens = this.window(limits.tpm, tokUsed, oldestTok ?? -1, now);
    if (ok === 1) return { ok: true, requests, tokens };
    const rejected = reason === 'requests' ? 'requests' : 'concurrency';
    return { ok: false, rejected, retryAfterMs: rejected === 'requests' ? requests!.resetMs : 1000, requests, tokens };
  }

  async reserveTokens(keyId: string, leaseId: string, tokens: number, limits: KeyLimits, now: number): Promise<ReserveResult> {
    const budget = limits.dailyUsd === undefined ? -1 : Math.round(limits.dailyUsd * 1e6);
    const [ok, reason, used, oldest, retryAfterMs] = await this.run(
      RESERVE,
      [this.key(keyId, 'tokz'), this.key(keyId, 'tokh'), this.key(keyId, `usd:${utcDay(now)}`)],
      [now, this.windowMs, limits.tpm ?? 0, tokens, leaseId, budget],
    );
    const window = this.window(limits.tpm, used, oldest, now);
    if (ok === 1) return { ok: true, tokens: window };
    if (reason === 'budget') return { ok: false, rejected: 'budget', retryAfterMs: msUntilUtcMidnight(now), tokens: window };
    return { ok: false, rejected: reason === 'too_large' ? 'too_large' : 'tokens', retryAfterMs, tokens: window };
  }

  async correctTokens(keyId: string, leaseId: string, tokens: number): Promise<void> {
    await this.run(CORRECT, [this.key(keyId, 'tokz'), this.key(keyId, 'tokh')], [leaseId, tokens]);
  }

  async addSpend(keyId: string, microUsd: number, now: number): Promise<void> {
    if (!(microUsd > 0)) return;
    const key = this.key(keyId, `usd:${utcDay(now)}`);
    await this.call('write', () => this.redis.multi().incrBy(key, Math.round(microUsd)).expire(key, 2 * 86_400).exec());
  }

  async spentToday(keyId: string, now: number): Promise<number> {
    return Number((await this.call('read', () => this.redis.get(this.key(keyId, `usd:${utcDay(now)}`)))) ?? 0);
  }

  async release(keyId: string, leaseId: string): Promise<void> {
    await this.call('write', () => this.redis.zRem(this.key(keyId, 'inflight'), leaseId));
  }
}
