import type { Logger } from 'winston';
import type { PriceTable } from '../accounting/prices.js';
import type { Config } from '../config.js';
import type { KvStores } from '../store/kv.js';
import { GatewayKeyStore } from './api-keys.js';
import type { LimitStore } from './limit-store.js';
import { LocalLimitStore } from './limit-store-local.js';
import { RedisLimitStore } from './limit-store-redis.js';
import type { RedactionMode } from './redaction.js';
import { RequestPolicy } from './request-policy.js';

/** Limits live where the rest of the gateway's state does: Redis when the store is Redis (shared across processes), else the store itself. */
export function openLimitStore(kv: KvStores): LimitStore {
  return kv.redis ? new RedisLimitStore(kv.redis, undefined, undefined, kv.call) : new LocalLimitStore(kv.open<unknown>('rate-limits'));
}

export function createRequestPolicy(opts: { config: Config; kv: KvStores; logger: Logger; prices: PriceTable; routingRedaction?: RedactionMode }): RequestPolicy {
  return new RequestPolicy({
    logger: opts.logger,
    keys: new GatewayKeyStore(opts.kv),
    limits: openLimitStore(opts.kv),
    prices: opts.prices,
    requireApiKey: opts.config.requireApiKey,
    storeReachable: () => !opts.kv.health.unreachable,
    defaultRedaction: opts.routingRedaction ?? opts.config.redaction,
  });
}
