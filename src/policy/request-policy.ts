import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import type { Logger } from 'winston';
import type { PriceTable } from '../accounting/prices.js';
import { countChatPromptTokens, countCompletionTokens } from '../accounting/tokens.js';
import { tenantOf } from '../http/chat-route.js';
import { ApiError } from '../http/errors.js';
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from '../providers/types.js';
import type { UpstreamOutcome } from '../providers/upstream-client.js';
import { GATEWAY_KEY_PREFIX, looksLikeGatewayKey, type GatewayKeyRecord, type GatewayKeyStore } from './api-keys.js';
import type { LimitStore, WindowUsage } from './limit-store.js';
import { rateLimitHeaders, retryAfterHeaders } from './rate-limit-headers.js';
import { PII_KIND_LABELS, RedactionDepthError, type PiiKind, type RedactionMode, type RedactionResult } from './redaction.js';
import { createChunkRestorer, restoreCompletion } from './restore-response.js';
import { RedactionPool, RedactionUnavailableError } from './redaction-pool.js';

/**
 * The policy step of the request path, before the cache lookup: who is calling (gateway key or
 * the client's own credential), redaction of the prompt, and the key's limits. Hits pass through
 * here too (rpm, concurrency, redaction); tokens and budget are reserved only for a miss that
 * goes upstream (`reserveUpstream`) and settled with its outcome (`settleUpstream`).
 */

export interface RequestPolicyDeps {
  logger: Logger;
  keys: GatewayKeyStore;
  limits: LimitStore;
  prices: PriceTable;
  /** REQUIRE_API_KEY */
  requireApiKey: boolean;
  /**
   * False while the store cannot be reached: key and limit checks then fail closed at once (503
   * store_unavailable) rather than wait for a store that is down. Default: always reachable.
   */
  storeReachable?: () => boolean;
  /** GATEWAY_CONFIG's `redaction`, else REDACTION; a key's own setting wins over both. */
  defaultRedaction: RedactionMode;
  /** Where large bodies are checked for sensitive data, off the event loop (default: a pool of one worker, started on first use). */
  redactionPool?: RedactionPool;
  now?: () => number;
}

export interface Caller {
  /** The cache and accounting scope: the key id, or a hash of the client's own credential. */
  tenant: string;
  key?: GatewayKeyRecord;
  /** What may go upstream as Authorization for keyless targets: never a gateway key. */
  upstreamAuthorization?: string;
}

function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m?.[1];
}

const hasLimits = (key: GatewayKeyRecord | undefined): key is GatewayKeyRecord =>
  !!key && (key.limits.rpm !== undefined || key.limits.tpm !== undefined || key.limits.concurrency !== undefined || key.limits.dailyUsd !== undefined);

/**
 * Runs a key or limit check against the store, failing closed: when the store is unreachable or
 * the check fails, the request is refused with 503 store_unavailable. An outage must never turn
 * a revoked key or a spent limit into "allow".
 */
async function checked<T>(deps: RequestPolicyDeps, what: string, check: () => Promise<T>): Promise<T> {
  const refuse = (reason: string) => {
    deps.logger.error('store unavailable: request refused', { event: 'store_unavailable', check: what, error: reason });
    return new ApiError(503, `The gateway cannot check ${what} right now: its store is unavailable. Please try again shortly.`, 'server_error', 'store_unavailable', null, { 'retry-after': '1' });
  };
  if (deps.storeReachable && !deps.storeReachable()) throw refuse('the store is unreachable');
  try {
    return await check();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw refuse((err as Error).message);
  }
}

/**
 * Counts one request against a key's requests-per-minute and concurrency limits (the lease is
 * released by the caller when the request is over); 429 in OpenAI's shape when a limit is reached.
 */
async function takeRequestSlot(
  deps: RequestPolicyDeps,
  key: GatewayKeyRecord,
  leaseId: string,
  now: number,
  setHeaders: (windows: { requests?: WindowUsage; tokens?: WindowUsage }) => void,
): Promise<void> {
  const result = await checked(deps, 'the rate limits of this API key', () => deps.limits.admit(key.id, leaseId, key.limits, now));
  // Only the windows: the rest of the result (ok, rejected, retryAfterMs) is not a header.
  const windows = { requests: result.requests, tokens: result.tokens };
  setHeaders(windows);
  if (!result.ok) {
    const message =
      result.rejected === 'requests'
        ? `Rate limit reached for key ${key.name} on requests per minute: limit ${key.limits.rpm}. Please try again later.`
        : `Rate limit reached for key ${key.name} on concurrent requests: limit ${key.limits.concurrency}. Please try again when a request has finished.`;
    throw new ApiError(429, message, 'requests', 'rate_limit_exceeded', null, { ...rateLimitHeaders(windows), ...retryAfterHeaders(result.retryAfterMs) });
  }
}

/** redactBody through the pool, its failures as the answers they are. */
async function redact<T>(pool: RedactionPool, body: T, mode: RedactionMode) {
  try {
    return await pool.redactBody(body, mode);
  } catch (err) {
    if (err instanceof RedactionDepthError) throw new ApiError(400, 'request body nested too deeply', 'invalid_request_error', 'invalid_body');
    if (err instanceof RedactionUnavailableError) {
      throw new ApiError(503, `The gateway could not check the request for sensitive data: ${err.message}. Please try again shortly.`, 'server_error', 'redaction_unavailable', null, { 'retry-after': '1' });
    }
    throw err;
  }
}

export class RequestPolicy {
  private readonly now: () => number;
  private readonly pool: RedactionPool;

  constructor(private readonly deps: RequestPolicyDeps) {
    this.now = deps.now ?? Date.now;
    this.pool = deps.redactionPool ?? new RedactionPool();
  }

  /** Stops the redaction workers (shutdown). */
  close(): Promise<void> {
    return this.pool.close();
  }

  /** Resolves the caller; 401 in OpenAI's shape for an unknown or revoked gateway key, or a missing one when keys are required. */
  async identify(authorization: string | undefined): Promise<Caller> {
    const token = bearerToken(authorization);
    if (token && looksLikeGatewayKey(token)) {
      const key = await checked(this.deps, 'the API key', () => this.deps.keys.authenticate(token));
      if (!key) throw new ApiError(401, 'Incorrect API key provided: the gateway key is unknown or revoked.', 'invalid_request_error', 'invalid_api_key');
      return { tenant: key.id, key };
    }
    if (this.deps.requireApiKey) {
      throw new ApiError(
        401,
        token
          ? 'Incorrect API key provided: this gateway requires a gateway key (Authorization: Bearer sk-gw-...).'
          : "You didn't provide an API key. Send a gateway key as Authorization: Bearer sk-gw-...",
        'invalid_request_error',
        token ? 'invalid_api_key' : 'missing_api_key',
      );
    }
    // A gateway key in any other shape ("Token sk-gw-...", no scheme, extra words) is refused
    // rather than passed upstream as if it were the client's own provider credential.
    if (authorization?.includes(GATEWAY_KEY_PREFIX)) {
      throw new ApiError(401, 'Malformed Authorization header: send a gateway key as Authorization: Bearer sk-gw-...', 'invalid_request_error', 'invalid_api_key');
    }
    return { tenant: tenantOf(authorization), upstreamAuthorization: authorization };
  }

  /**
   * Pass-through routes (embeddings, files, ...): identify the caller and count the call against
   * its key's requests-per-minute and concurrency limits, as a chat request is counted. Tokens and
   * the daily budget are not: the gateway does not price those endpoints. `finish` frees the
   * concurrency slot; call it once the call is over, however it ended.
   */
  async admitPassthrough(authorization: string | undefined, res: Response): Promise<{ caller: Caller; finish: () => Promise<void> }> {
    const caller = await this.identify(authorization);
    const key = caller.key;
    if (!hasLimits(key)) return { caller, finish: async () => undefined };
    const leaseId = randomUUID();
    await takeRequestSlot(this.deps, key, leaseId, this.now(), (windows) => {
      if (!res.headersSent) for (const [k, v] of Object.entries(rateLimitHeaders(windows))) res.setHeader(k, v);
    });
    return {
      caller,
      finish: async () => {
        try {
          await this.deps.limits.release(key.id, leaseId);
        } catch (err) {
          this.deps.logger.error('could not release limits', { event: 'limits_error', tenant: key.id, error: (err as Error).message });
        }
      },
    };
  }

  /**
   * A pass-through JSON body under the caller's redaction mode, with the same detectors as chat:
   * `block` refuses it (400), `mask` sends placeholders upstream. The answer is not restored (these
   * endpoints rarely echo input), and non-JSON bodies (file uploads, audio) pass as they are.
   */
  async redactPassthroughBody(caller: Caller, raw: Buffer, contentType: string | undefined): Promise<Buffer> {
    const mode = caller.key?.redaction ?? this.deps.defaultRedaction;
    if (mode === 'off' || raw.length === 0 || !/\bjson\b/i.test(contentType ?? '')) return raw;
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return raw; // not JSON after all: the upstream answers it as it would
    }
    const result = await redact(this.pool, body, mode);
    if (result.blockedKinds.length > 0) {
      const labels = result.blockedKinds.map((k) => PII_KIND_LABELS[k]);
      throw new ApiError(400, `request blocked: the body contains sensitive data (${labels.join(', ')}); remove it or ask for redaction mode mask`, 'invalid_request_error', 'sensitive_data_blocked');
    }
    if (Object.keys(result.findings).length === 0) return raw;
    this.deps.logger.info('sensitive data in pass-through body', { event: 'redaction', tenant: caller.tenant, mode, findings: result.findings });
    return Buffer.from(JSON.stringify(result.body), 'utf8');
  }

  /**
   * Identify, redact, then count the request against rpm and concurrency. Throws ApiError 401 /
   * 400 (blocked data) / 429. Rate-limit headers are set on `res` for whatever answer follows.
   */
  async admit(authorization: string | undefined, request: ChatRequest, res: Response, requestId: string): Promise<Admission> {
    const caller = await this.identify(authorization);
    const mode = caller.key?.redaction ?? this.deps.defaultRedaction;
    // Every string that goes upstream: messages, names, tools, stop, user, metadata, ...
    const redaction = await redact(this.pool, request, mode);
    const kinds = Object.keys(redaction.findings) as PiiKind[];
    if (kinds.length > 0) {
      // Counts per kind only: the values never reach a log.
      this.deps.logger.info('sensitive data in prompt', { event: 'redaction', requestId, tenant: caller.tenant, mode, findings: redaction.findings });
    }
    if (redaction.blockedKinds.length > 0) {
      const labels = redaction.blockedKinds.map((k) => PII_KIND_LABELS[k]);
      throw new ApiError(400, `request blocked: the request contains sensitive data (${labels.join(', ')}); remove it or ask for redaction mode mask`, 'invalid_request_error', 'sensitive_data_blocked', null);
    }
    const redacted = redaction.body;
    const admission = new Admission(this.deps, this.now, caller, redacted, redaction, res);
    await admission.admit();
    return admission;
  }
}

export class Admission {
  private readonly leaseId = randomUUID();
  private admitted = false;
  private reservedTokens: number | undefined;
  private settled = false;

  constructor(
    private readonly deps: RequestPolicyDeps,
    private readonly now: () => number,
    readonly caller: Caller,
    /** The request as it may go upstream and into the cache (masked). */
    private current: ChatRequest,
    private readonly redaction: Omit<RedactionResult, 'messages'>,
    private readonly res: Response,
  ) {}

  get tenant(): string {
    return this.caller.tenant;
  }

  /** The request as it may go upstream and into the cache (masked). */
  get request(): ChatRequest {
    return this.current;
  }

  /** The operator's own additions (a system prompt), made after redaction: not the client's data. */
  useRequest(request: ChatRequest): void {
    this.current = request;
  }

  get upstreamAuthorization(): string | undefined {
    return this.caller.upstreamAuthorization;
  }

  /** What the client sees of a completion (placeholders restored). */
  presentCompletion(completion: ChatCompletion): ChatCompletion {
    return restoreCompletion(completion, this.redaction);
  }

  /** A fresh mapper for one live stream's chunks. */
  chunkPresenter(): (chunk: ChatCompletionChunk) => ChatCompletionChunk {
    return createChunkRestorer(this.redaction);
  }

  private setHeaders(windows: { requests?: WindowUsage; tokens?: WindowUsage }): void {
    if (this.res.headersSent) return;
    for (const [k, v] of Object.entries(rateLimitHeaders(windows))) this.res.setHeader(k, v);
  }

  async admit(): Promise<void> {
    const key = this.caller.key;
    if (!hasLimits(key)) return;
    await takeRequestSlot(this.deps, key, this.leaseId, this.now(), (w) => this.setHeaders(w));
    this.admitted = true;
  }

  /** Before a miss goes upstream: reserves its estimated tokens and checks the day's budget. */
  async reserveUpstream(): Promise<void> {
    const key = this.caller.key;
    if (!hasLimits(key) || (key.limits.tpm === undefined && key.limits.dailyUsd === undefined)) return;
    const r = this.request;
    const estimate = key.limits.tpm === undefined ? 0 : countChatPromptTokens(r.model, r.messages) + (r.max_completion_tokens ?? r.max_tokens ?? 0);
    const result = await checked(this.deps, 'the token and budget limits of this API key', () => this.deps.limits.reserveTokens(key.id, this.leaseId, estimate, key.limits, this.now()));
    this.setHeaders({ tokens: result.tokens });
    if (result.ok) {
      if (key.limits.tpm !== undefined) this.reservedTokens = estimate;
      return;
    }
    const headers = { ...rateLimitHeaders({ tokens: result.tokens }), ...(result.rejected === 'too_large' ? {} : retryAfterHeaders(result.retryAfterMs)) };
    if (result.rejected === 'budget') {
      throw new ApiError(429, `Key ${key.name} has spent its daily budget of $${key.limits.dailyUsd}; it resets at 00:00 UTC.`, 'insufficient_quota', 'insufficient_quota', null, headers);
    }
    if (result.rejected === 'too_large') {
      throw new ApiError(429, `Request too large for key ${key.name}: it needs about ${estimate} tokens, more than its limit of ${key.limits.tpm} tokens per minute.`, 'tokens', 'rate_limit_exceeded', null, headers);
    }
    throw new ApiError(429, `Rate limit reached for key ${key.name} on tokens per minute: limit ${key.limits.tpm}, requested about ${estimate}. Please try again later.`, 'tokens', 'rate_limit_exceeded', null, headers);
  }

  /**
   * As soon as a miss's outcome is known, before the answer goes out (so the client's next
   * request already sees it): replaces the token reservation with what the upstream reported (0
   * when this request paid nothing: a coalesced follower, a failure) and adds the cost to the
   * day's spend.
   */
  async settleUpstream(outcome: UpstreamOutcome, leader: boolean): Promise<void> {
    const key = this.caller.key;
    if (!hasLimits(key) || this.settled) return;
    this.settled = true;
    const paid = outcome.ok && leader ? outcome.completion : undefined;
    try {
      if (this.reservedTokens !== undefined) await this.deps.limits.correctTokens(key.id, this.leaseId, paid ? this.actualTokens(paid) : 0);
      if (paid?.usage && key.limits.dailyUsd !== undefined) {
        const cost = this.deps.prices.cost(outcome.target.model, paid.usage);
        if (!cost.priceKnown) this.deps.logger.warn('no price for model: the call does not count against the daily budget', { event: 'budget_unpriced', model: outcome.target.model, tenant: key.id });
        await this.deps.limits.addSpend(key.id, cost.microUsd, this.now());
      }
    } catch (err) {
      this.deps.logger.error('could not settle limits', { event: 'limits_error', tenant: key.id, error: (err as Error).message });
    }
  }

  /** When the request is over, however it ended: returns an unused reservation and the concurrency slot. Never throws. */
  async finish(): Promise<void> {
    const key = this.caller.key;
    if (!hasLimits(key)) return;
    try {
      if (this.reservedTokens !== undefined && !this.settled) await this.deps.limits.correctTokens(key.id, this.leaseId, 0);
      if (this.admitted) await this.deps.limits.release(key.id, this.leaseId);
    } catch (err) {
      this.deps.logger.error('could not release limits', { event: 'limits_error', tenant: key.id, error: (err as Error).message });
    }
  }

  private actualTokens(completion: ChatCompletion): number {
    const total = completion.usage?.total_tokens;
    if (typeof total === 'number' && total >= 0) return total;
    const prompt = countChatPromptTokens(this.request.model, this.request.messages);
    return prompt + completion.choices.reduce((n, c) => n + countCompletionTokens(this.request.model, c.message), 0);
  }
}
