import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Logger } from 'winston';
import { DirectiveError, parseCacheDirectives, type CacheDirectives } from '../cache/cache-control.js';
import { computeCacheKeys, type CacheKeys } from '../cache/request-key.js';
import type { BoundOutcome, CacheEntry, LookupResult, SemanticCache } from '../cache/semantic-cache.js';
import type { Equivalence } from '../cache/bound/equivalence.js';
import { uncacheableReason } from '../cache/cacheable.js';
import { SingleFlight } from '../cache/single-flight.js';
import type { RequestAccounting } from '../accounting/request-cost.js';
import { usdString } from '../accounting/request-cost.js';
import type { Config } from '../config.js';
import { logs } from '../observability/logger.js';
import type { Admission, RequestPolicy } from '../policy/request-policy.js';
import { applySystemPromptPolicy, type SystemPromptPolicy } from '../policy/system-prompt.js';
import { expandTemplateRequest, type TemplateRegistry } from '../templates/prompt-templates.js';
import { completionToChunks } from '../providers/stream-assembler.js';
import { SSE_DONE, sseData } from '../providers/sse.js';
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from '../providers/types.js';
import type { ChunkSource, UpstreamOutcome } from '../providers/upstream-client.js';
import { parseChatRequest } from './chat-schema.js';
import { ApiError, errorBody, sendError } from './errors.js';
import { setSafeHeaders } from './header-values.js';
import { accountHeaders, scopedTenant } from './tenant.js';

export type CacheStatus = 'hit' | 'semantic-hit' | 'miss' | 'bypass';

/** Everything known about one finished chat request: logs, metrics, stats and totals read this. */
export interface RequestRecord {
  requestId: string;
  tenant: string;
  namespace: string;
  model: string;
  stream: boolean;
  status: number;
  cacheStatus: CacheStatus;
  coalesced: boolean;
  /** `name@version` when the request came from a prompt template. */
  template?: string;
  similarity?: number;
  nearestSimilarity?: number;
  guardRejections: LookupResult['guardRejections'];
  /** Error-bound mode: the bound, the estimate, and whether this request was a verification call. */
  bound?: BoundOutcome;
  /** A verification call's comparison of the fresh answer with the cached one. */
  verification?: Equivalence;
  provider?: string;
  upstreamModel?: string;
  upstreamMs?: number;
  embedMs: number;
  searchMs: number;
  totalMs: number;
  request: ChatRequest;
  /** The answer served (fresh or cached). */
  completion?: ChatCompletion;
  /** The cache entry a hit came from. */
  entry?: CacheEntry;
  /** Tokens, cost and saving, once the answer is known. */
  accounting?: RequestAccounting;
  errorMessage?: string;
}

/** Sends a miss upstream; the routing layer (providers, fallback) sits behind this function. */
export type ForwardChat = (
  request: ChatRequest,
  ctx: {
    onChunk?: (c: ChatCompletionChunk, source: ChunkSource) => void;
    clientAuthorization?: string;
    /** The client's OpenAI-Organization / OpenAI-Project headers, for OpenAI targets. */
    accountHeaders?: Record<string, string>;
  },
) => Promise<UpstreamOutcome>;

export interface ChatRouteDeps {
  config: Config;
  logger: Logger;
  cache: SemanticCache;
  forward: ForwardChat;
  /** Gateway keys, limits and redaction: runs before the cache lookup. */
  policy: RequestPolicy;
  /** Observers of finished requests (metrics, stats, totals). */
  onRecord: Array<(record: RequestRecord) => void>;
  /** Requests refused before the cache step (bad input, keys, limits, blocked data). */
  onRejected?: (status: number, code: string | null) => void;
  /** Prices a served answer (tokens, cost, saving). */
  account?: (record: RequestRecord) => RequestAccounting;
  /** GATEWAY_CONFIG's prompt templates (`model: "template:name@version"`). */
  templates?: TemplateRegistry;
  /** GATEWAY_CONFIG's system-prompt policy of a model alias; a key's own policy wins. */
  aliasSystemPrompt?: (model: string) => SystemPromptPolicy | undefined;
}

const NO_TEMPLATES: TemplateRegistry = new Map();

const NAMESPACE_RE = /^[\w.:-]{1,64}$/;
const REQUEST_ID_RE = /^[\w.:-]{1,128}$/;

// Kept here for the modules that import it from the chat route.
export { tenantOf } from './tenant.js';

/**
 * POST /v1/chat/completions: the request path, in order — validate, cache lookup, forward the
 * miss (coalesced with identical in-flight misses), store the complete answer, respond, record.
 */
export function createChatHandler(deps: ChatRouteDeps) {
  const flights = new SingleFlight<UpstreamOutcome>();

  return async function chatHandler(req: Request, res: Response): Promise<void> {
    const t0 = performance.now();
    const incomingId = req.header('x-request-id');
    const requestId = incomingId && REQUEST_ID_RE.test(incomingId) ? incomingId : randomUUID();
    res.setHeader('x-request-id', requestId);
    let record: RequestRecord | undefined;
    let admission: Admission | undefined;
    try {
      // A template call becomes the chat request it describes before anything else looks at it.
      const template = expandTemplateRequest(req.body, deps.templates ?? NO_TEMPLATES);
      if (template) res.setHeader('x-gateway-template-version', template.version);
      const parsed = parseChatRequest(template?.body ?? req.body);
      let directives: CacheDirectives;
      try {
        directives = parseCacheDirectives(req.header('cache-control'), req.header('x-cache-threshold'), req.header('x-cache-max-error'));
      } catch (err) {
        if (err instanceof DirectiveError) throw new ApiError(400, err.message, 'invalid_request_error', 'invalid_header');
        throw err;
      }
      const namespace = req.header('x-cache-namespace') ?? 'default';
      if (!NAMESPACE_RE.test(namespace)) {
        throw new ApiError(400, 'x-cache-namespace must be 1-64 characters of letters, digits, _ . : -', 'invalid_request_error', 'invalid_header');
      }
      const admitted = await deps.policy.admit(req.header('authorization'), parsed, res, requestId);
      admission = admitted;
      // The operator's system prompt is added after redaction: it is not the client's data.
      const systemPrompt = applySystemPromptPolicy(admitted.request, admitted.caller.key?.systemPrompt ?? deps.aliasSystemPrompt?.(admitted.request.model));
      admitted.useRequest(systemPrompt.request);
      // From here on the request is the redacted one: it is what goes upstream and into the cache.
      const request = admitted.request;
      const tenant = admitted.tenant;
      // OpenAI-Organization / OpenAI-Project go upstream and split the cache scope.
      const account = accountHeaders((name) => req.header(name));
      const cacheTenant = scopedTenant(tenant, account);
      const keys = computeCacheKeys({
        tenant: deps.config.cache.shareAcrossTenants ? undefined : cacheTenant,
        namespace,
        model: request.model,
        request,
        semanticMaxChars: deps.config.cache.semanticMaxChars,
        // Answers of one template version or one injected system prompt serve only their own kind.
        variant: [template?.ref, systemPrompt.id].filter(Boolean).join('|') || undefined,
      });
      const stream = request.stream === true;
      record = {
        requestId,
        tenant,
        namespace,
        model: request.model,
        stream,
        status: 200,
        cacheStatus: directives.lookup ? 'miss' : 'bypass',
        coalesced: false,
        template: template?.ref,
        guardRejections: [],
        embedMs: 0,
        searchMs: 0,
        totalMs: 0,
        request,
      };

      let lookup: LookupResult | undefined;
      if (directives.lookup) {
        lookup = await deps.cache.lookup(keys, directives);
        record.embedMs = lookup.embedMs;
        record.searchMs = lookup.searchMs;
        record.nearestSimilarity = lookup.nearestSimilarity;
        record.guardRejections = lookup.guardRejections;
        record.bound = lookup.bound;
        if (lookup.status !== 'miss' && lookup.entry) {
          record.cacheStatus = lookup.status;
          record.similarity = lookup.similarity;
          record.entry = lookup.entry;
          record.completion = lookup.entry.response;
          deps.cache.noteServed(requestId, {
            entryId: lookup.entry.id,
            similarity: lookup.similarity ?? 1,
            // The client that got the answer, whether or not tenants share entries.
            tenant: cacheTenant,
            namespace,
            exact: lookup.status === 'hit',
          });
          const ageSeconds = Math.max(0, Math.floor((Date.now() - lookup.entry.createdAt) / 1000));
          sendCompletion(res, record, deps, { 'x-cache-age': String(ageSeconds) }, admitted);
          return;
        }
      }

      const owner = { tenant: cacheTenant, namespace, model: request.model };
      const live = stream ? new LiveStream(res, record, deps, request, admitted) : undefined;
      const forwardOnce = async (): Promise<UpstreamOutcome> => {
        const outcome = await deps.forward(request, { onChunk: live?.onChunk, clientAuthorization: admitted.upstreamAuthorization, accountHeaders: account });
        const notCacheable = outcome.ok ? uncacheableReason(outcome.completion) : undefined;
        if (notCacheable) deps.logger.info('answer not cached', { event: 'not_cached', requestId, reason: notCacheable });
        if (outcome.ok && directives.store && !notCacheable) {
          await deps.cache
            .store(keys, owner, outcome.completion, lookup?.vector)
            .catch((err) => deps.logger.error('cache store failed', { requestId, error: (err as Error).message }));
        }
        const target = lookup?.bound?.verify;
        if (outcome.ok && target && record) {
          // A verification call: the client gets this fresh answer; the cached one is judged by it.
          record.verification = await deps.cache
            .recordVerification(target, outcome.completion)
            .catch((err): undefined => {
              deps.logger.error('cache verification not recorded', { requestId, error: (err as Error).message });
              return undefined;
            });
        }
        return outcome;
      };
      await admitted.reserveUpstream();
      // Only requests that both read and write the cache are coalesced: no-store / no-cache ask
      // for their own fresh answer.
      const flight = directives.lookup && directives.store ? flights.run(keys.exactKey, forwardOnce) : { promise: forwardOnce(), leader: true };
      const outcome = await flight.promise;
      await admitted.settleUpstream(outcome, flight.leader);
      record.coalesced = !flight.leader;
      record.provider = outcome.provider;
      record.upstreamModel = outcome.target.model;
      record.upstreamMs = flight.leader ? outcome.upstreamMs : undefined;

      if (!outcome.ok) {
        record.status = outcome.status;
        record.errorMessage = outcome.message;
        if (flight.leader && live?.started) {
          live.fail(outcome.body, outcome.message);
          return;
        }
        setSafeHeaders(res, outcome.headers);
        res.setHeader('x-cache-status', record.cacheStatus);
        res.status(outcome.status).json(outcome.body);
        return;
      }

      record.completion = outcome.completion;
      if (!flight.leader) {
        // A coalesced follower got the leader's answer without an upstream call of its own.
        record.cacheStatus = 'hit';
        sendCompletion(res, record, deps, { 'x-cache-age': '0', 'x-cache-coalesced': 'true' }, admitted);
        return;
      }
      if (live) live.finish();
      else sendCompletion(res, record, deps, {}, admitted);
    } catch (err) {
      const apiErr =
        err instanceof ApiError ? err : new ApiError(500, 'internal gateway error', 'server_error', 'internal_error');
      if (!(err instanceof ApiError)) deps.logger.error('request failed', { requestId, error: (err as Error).stack });
      if (record) {
        record.status = apiErr.status;
        record.errorMessage = apiErr.message;
      }
      sendError(res, apiErr);
      if (!record) {
        deps.onRejected?.(apiErr.status, apiErr.code);
        logLine(deps, { requestId, status: apiErr.status, code: apiErr.code, totalMs: performance.now() - t0, error: apiErr.message });
      }
    } finally {
      await admission?.finish();
      if (record) {
        record.totalMs = performance.now() - t0;
        finishRecord(deps, record);
      }
    }
  };
}

/** Computes the request's accounting once its answer is known. */
function settle(record: RequestRecord, deps: ChatRouteDeps): RequestAccounting | undefined {
  if (!record.accounting && record.completion && deps.account && record.status < 400) record.accounting = deps.account(record);
  return record.accounting;
}

function costHeaders(record: RequestRecord, deps: ChatRouteDeps): Record<string, string> {
  const a = settle(record, deps);
  if (!a) return {};
  const h: Record<string, string> = { 'x-gateway-cost-usd': usdString(a.costMicroUsd) };
  if (record.cacheStatus === 'hit' || record.cacheStatus === 'semantic-hit') {
    h['x-gateway-saved-usd'] = usdString(a.savedMicroUsd);
    h['x-gateway-saved-tokens'] = String(a.savedTokens);
  }
  return h;
}

function cacheHeaders(record: RequestRecord, deps: ChatRouteDeps): Record<string, string> {
  const h: Record<string, string> = { 'x-cache-status': record.cacheStatus };
  if (record.bound?.verify) h['x-cache-verification'] = 'true';
  if (record.cacheStatus === 'semantic-hit' && record.similarity !== undefined) h['x-cache-similarity'] = record.similarity.toFixed(4);
  if (record.provider) h['x-gateway-provider'] = record.provider;
  if (record.upstreamModel) h['x-gateway-model'] = record.upstreamModel;
  return { ...h, ...costHeaders(record, deps) };
}

/** Sends a whole completion, as JSON or replayed as an SSE stream per the request's `stream` flag. */
function sendCompletion(res: Response, record: RequestRecord, deps: ChatRouteDeps, extra: Record<string, string>, admission?: Admission): void {
  // The client gets masked values restored; the record (and the cache) keep the placeholders.
  const completion = admission ? admission.presentCompletion(record.completion!) : record.completion!;
  setSafeHeaders(res, { ...cacheHeaders(record, deps), ...extra });
  if (!record.stream) {
    // The body straight to node:http, as one string: express's send() would convert it to a
    // Buffer, check freshness and write headers and body as two buffers.
    res.statusCode = 200;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(completion));
    return;
  }
  startSse(res);
  const includeUsage = record.request.stream_options?.include_usage === true;
  for (const chunk of completionToChunks(completion, includeUsage)) res.write(sseData(chunk));
  res.end(SSE_DONE);
}

function startSse(res: Response): void {
  res.status(200);
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('connection', 'keep-alive');
  res.flushHeaders();
}

/** Relays an upstream stream to the client as it arrives (the leader of a streamed miss). */
class LiveStream {
  started = false;
  private readonly includeUsage: boolean;

  constructor(
    private readonly res: Response,
    private readonly record: RequestRecord,
    private readonly deps: ChatRouteDeps,
    request: ChatRequest,
    private readonly admission: Admission,
  ) {
    this.includeUsage = request.stream_options?.include_usage === true;
    this.present = admission.chunkPresenter();
  }

  private readonly present: (chunk: ChatCompletionChunk) => ChatCompletionChunk;

  readonly onChunk = (chunk: ChatCompletionChunk, source: ChunkSource): void => {
    // The gateway asked the upstream for usage; a client that did not ask does not get it.
    if (!this.includeUsage && chunk.choices.length === 0 && chunk.usage) return;
    if (!this.started) {
      this.started = true;
      this.record.provider = source.provider;
      this.record.upstreamModel = source.model;
      setSafeHeaders(this.res, cacheHeaders(this.record, this.deps));
      // The cost of a streamed miss is known only at its end: it follows as an HTTP trailer.
      if (this.deps.account) this.res.setHeader('trailer', 'x-gateway-cost-usd');
      startSse(this.res);
    }
    if (!this.res.writableEnded && !this.res.destroyed) {
      // OpenAI sends "usage": null on every chunk when usage is asked for; the client did not ask.
      const out = !this.includeUsage && 'usage' in chunk ? { ...chunk, usage: undefined } : chunk;
      this.res.write(sseData(this.present(out)));
    }
  };

  /**
   * The upstream failed after chunks went out (status 200 already sent): end the stream as OpenAI
   * does, with an error event the SDKs raise as an APIError, and no [DONE], so no client takes the
   * partial answer for a whole one.
   */
  fail(body: unknown, message: string): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    const upstream = (body as { error?: { type?: unknown; code?: unknown } } | undefined)?.error;
    const type = typeof upstream?.type === 'string' ? upstream.type : 'upstream_error';
    const code = typeof upstream?.code === 'string' ? upstream.code : null;
    this.res.end(sseData(errorBody(message, type, code)));
  }

  finish(): void {
    if (!this.started) {
      // An upstream that streamed no chunk at all still completed; replay what was assembled.
      sendCompletion(this.res, this.record, this.deps, {}, this.admission);
      return;
    }
    if (!this.res.writableEnded && !this.res.destroyed) {
      const cost = costHeaders(this.record, this.deps)['x-gateway-cost-usd'];
      if (cost !== undefined && this.deps.account) this.res.addTrailers({ 'x-gateway-cost-usd': cost });
      this.res.end(SSE_DONE);
    }
  }
}

function finishRecord(deps: ChatRouteDeps, record: RequestRecord): void {
  settle(record, deps);
  for (const observer of deps.onRecord) {
    try {
      observer(record);
    } catch (err) {
      deps.logger.error('request observer failed', { requestId: record.requestId, error: (err as Error).message });
    }
  }
  // The line's fields are only built when the line is written (LOG_LEVEL above info: never).
  if (!logs(deps.logger, 'info')) return;
  const promptText = deps.config.log.prompts ? { prompt: record.request.messages[record.request.messages.length - 1]?.content } : {};
  logLine(deps, {
    requestId: record.requestId,
    tenant: record.tenant,
    namespace: record.namespace,
    model: record.model,
    stream: record.stream,
    status: record.status,
    cacheStatus: record.cacheStatus,
    coalesced: record.coalesced || undefined,
    template: record.template,
    similarity: round(record.similarity),
    nearestSimilarity: round(record.nearestSimilarity),
    guardRejections: record.guardRejections.length ? record.guardRejections.map((g) => ({ similarity: round(g.similarity), reason: g.reason })) : undefined,
    maxError: record.bound?.maxError,
    errorEstimate: round(record.bound?.estimate),
    verification: record.verification
      ? { similarity: round(record.bound?.verify?.similarity), equivalent: record.verification.equivalent, rule: record.verification.rule }
      : record.bound?.verifySkipped
        ? 'skipped: CACHE_VERIFY_MAX_RATE'
        : undefined,
    provider: record.provider,
    upstreamModel: record.upstreamModel,
    upstreamMs: round(record.upstreamMs, 1),
    embedMs: round(record.embedMs, 2),
    searchMs: round(record.searchMs, 2),
    totalMs: round(record.totalMs, 1),
    promptTokens: record.accounting?.promptTokens,
    completionTokens: record.accounting?.completionTokens,
    promptTokensEstimate: record.accounting?.promptTokensEstimate,
    costUsd: record.accounting ? record.accounting.costMicroUsd / 1e6 : undefined,
    savedUsd: record.accounting?.savedMicroUsd ? record.accounting.savedMicroUsd / 1e6 : undefined,
    error: record.errorMessage,
    ...promptText,
  });
}

function logLine(deps: ChatRouteDeps, fields: Record<string, unknown>): void {
  if (!logs(deps.logger, 'info')) return;
  deps.logger.info('chat', { event: 'request', ...fields });
}

function round(n: number | undefined, digits = 4): number | undefined {
  return n === undefined ? undefined : Number(n.toFixed(digits));
}

export type { CacheKeys };
