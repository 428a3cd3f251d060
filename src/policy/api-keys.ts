import { createHash, randomBytes } from 'node:crypto';
import type { Keyv } from 'keyv';
import type { KvStores } from '../store/kv.js';
import type { RedactionMode } from './redaction.js';
import type { SystemPromptPolicy } from './system-prompt.js';

/**
 * Gateway API keys. A key is shown once, at creation; the store holds only its SHA-256, so a
 * leaked store file or Redis dump grants nothing. The key id (`key_...`) is the tenant: it scopes
 * the cache and names the limits.
 */

export const GATEWAY_KEY_PREFIX = 'sk-gw-';
const KEY_RE = /^sk-gw-[A-Za-z0-9_-]{43}$/;

export interface KeyLimits {
  /** Requests per minute (sliding window). */
  rpm?: number;
  /** Tokens per minute (sliding window; prompt estimate, corrected by the upstream's usage). */
  tpm?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** USD per UTC day. */
  dailyUsd?: number;
}

export interface GatewayKeyRecord {
  id: string;
  name: string;
  /** The key's last 4 characters, so a person can tell keys apart in `keys list`. */
  hint: string;
  createdAt: number;
  revokedAt?: number;
  limits: KeyLimits;
  /** Overrides GATEWAY_CONFIG's and REDACTION's mode for this key. */
  redaction?: RedactionMode;
  /** Overrides the alias's system-prompt policy for this key. */
  systemPrompt?: SystemPromptPolicy;
}

export interface CreateKeyInput {
  name: string;
  limits?: KeyLimits;
  redaction?: RedactionMode;
  systemPrompt?: SystemPromptPolicy;
}

/** A create request the store cannot take as given (bad name, name in use): the caller's mistake. */
export class KeyInputError extends Error {}

export function hashGatewayKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function looksLikeGatewayKey(token: string): boolean {
  return token.startsWith(GATEWAY_KEY_PREFIX);
}

export class GatewayKeyStore {
  private readonly kv: Keyv<GatewayKeyRecord>;

  constructor(private readonly stores: KvStores) {
    // A key write that fails (full disk, store down) must fail the create/revoke, not report success.
    this.kv = stores.open<GatewayKeyRecord>(GatewayKeyStore.NAMESPACE, { throwOnErrors: true });
  }

  static readonly NAMESPACE = 'gateway-keys';

  /** Returns the raw key (the only time it exists outside the client) and its record. */
  async create(input: CreateKeyInput): Promise<{ key: string; record: GatewayKeyRecord }> {
    if (!/^[\w.:@-]{1,64}$/.test(input.name)) throw new KeyInputError('key name must be 1-64 characters of letters, digits, _ . : @ -');
    if ((await this.list()).some((r) => r.name === input.name && !r.revokedAt)) throw new KeyInputError(`an active key named ${input.name} exists already`);
    const key = GATEWAY_KEY_PREFIX + randomBytes(32).toString('base64url');
    const record: GatewayKeyRecord = {
      id: `key_${randomBytes(6).toString('hex')}`,
      name: input.name,
      hint: key.slice(-4),
      createdAt: Date.now(),
      limits: { ...(input.limits ?? {}) },
      ...(input.redaction ? { redaction: input.redaction } : {}),
      ...(input.systemPrompt ? { systemPrompt: input.systemPrompt } : {}),
    };
    await this.kv.set(hashGatewayKey(key), record);
    this.stores.sync();
    return { key, record };
  }

  /** The active record for a presented key, or undefined (unknown, malformed or revoked). */
  async authenticate(key: string): Promise<GatewayKeyRecord | undefined> {
    if (!KEY_RE.test(key)) return undefined;
    // Looked up by hash: comparing hashes leaks nothing useful about the key through timing.
    const record = await this.kv.get(hashGatewayKey(key));
    return record && !record.revokedAt ? record : undefined;
  }

  async list(): Promise<GatewayKeyRecord[]> {
    const out: GatewayKeyRecord[] = [];
    for await (const [, record] of this.stores.iterate<GatewayKeyRecord>(GatewayKeyStore.NAMESPACE)) out.push(record);
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Revokes by id or by name (active keys only). Returns the revoked record, or undefined. */
  async revoke(idOrName: string): Promise<GatewayKeyRecord | undefined> {
    for await (const [hash, record] of this.stores.iterate<GatewayKeyRecord>(GatewayKeyStore.NAMESPACE)) {
      if (record.revokedAt || (record.id !== idOrName && record.name !== idOrName)) continue;
      const revoked = { ...record, revokedAt: Date.now() };
      await this.kv.set(hash, revoked);
      this.stores.sync();
      return revoked;
    }
    return undefined;
  }
}
