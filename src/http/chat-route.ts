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
import type { ChatCompletion, ChatCompletionChunk, ChatRequest, ChunkChoice } from '../providers/types.js';
import type { ChunkSource, UpstreamOutcome } from '../providers/upstream-client.js';
import { blockMessage, checkCompletion, checkRequest, runChecks, type GuardDecision } from '../guardrails/checks.js';
import { decisionsForLog, FLAGGED_HEADER, flaggedValue, type Guardrails } from '../guardrails/engine.js';
import type { GuardPolicy } from '../guardrails/policy.js';
import { StreamModerator } from '../guardrails/stream-moderator.js';
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
  /** Why the cache was bypassed when the client did not ask for it: the store was unreachable. */
  bypassReason?: 'store_unavailable';
  coalesced: boolean;
  /** `name@version` when the request came from a prompt template. */
  template?: string;
  similarity?: number;
  nearestSimilarity?: number;
  guardRejections: LookupResult['guardRejections'];
  /** Error-bound mode: the bound, the estimate, and whether this request was a verification call. */
  bound?: BoundOutcome;
  /** A verification call's comparisons of the fresh answer with the cached ones (best candidate first). */
  verification?: Equivalence[];
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
  /** Guardrail decisions on the request and the answer (names and numbers, never text). */
  guardrails: GuardDecision[];
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
  /** Input screening and output moderation policies (absent: none). */
  guardrails?: Guardrails;
  /** Every request's guardrail decisions, blocked ones included (metrics, stats). */
  onGuardDecisions?: (decisions: GuardDecision[]) => void;
}

/** The outcome of a miss plus the output policy's verdict on it (shared with coalesced followers). */
interface FlightResult {
  outcome: UpstreamOutcome;
  moderated?: Awaited<ReturnType<typeof checkCompletion>>;
  fingerprint: string;
}

const NO_POLICY: GuardPolicy = { name: 'none', input: [], output: [], outputFingerprint: '' };

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
  const flights = new SingleFlight<FlightResult>();

  return async function chatHandler(req: Request, res: Response): Promise<void> {
    const t0 = performance.now();
    const incomingId = req.header('x-request-id');
    const requestId = incomingId && REQUEST_ID_RE.test(incomingId) ? incomingId : randomUUID();
    res.setHeader('x-request-id', requestId);
    let record: RequestRecord | undefined;
    let admission: Admission | undefined;
    let guardDecisions: GuardDecision[] = [];
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
      const tenant = admitted.tenant;
      const policy = deps.guardrails?.policyFor(admitted.caller, admitted.request.model) ?? NO_POLICY;
      // Input screening on the redacted request; masking (deny terms) rewrites it.
      const screened = await checkRequest(policy, admitted.request);
      guardDecisions = screened.decisions;
      if (screened.blocked) throw new ApiError(400, blockMessage(screened.blocked), 'invalid_request_error', 'content_filter');
      if (screened.request !== admitted.request) admitted.useRequest(screened.request);
      // From here on the request is the redacted one: it is what goes upstream and into the cache.
      const request = screened.request;
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
        // The store is unreachable: no lookup, no store, no coalescing; the request goes upstream.
        bypassReason: deps.cache.available ? undefined : 'store_unavailable',
        guardRejections: [],
        embedMs: 0,
        searchMs: 0,
        totalMs: 0,
        request,
        guardrails: guardDecisions,
      };

      let lookup: LookupResult | undefined;
      if (directives.lookup && !record.bypassReason) {
        lookup = await deps.cache.lookup(keys, directives);
        if (lookup.status === 'bypass') record.bypassReason = 'store_unavailable';
        record.embedMs = lookup.embedMs;
        record.searchMs = lookup.searchMs;
        record.nearestSimilarity = lookup.nearestSimilarity;
        record.guardRejections = lookup.guardRejections;
        record.bound = lookup.bound;
        if ((lookup.status === 'hit' || lookup.status === 'semantic-hit') && lookup.entry) {
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
          // Stored under another output policy (or none): checked again under this one.
          if (policy.output.length > 0 && (lookup.entry.moderatedBy ?? '') !== policy.outputFingerprint) {
            const checked = await checkCompletion(policy, lookup.entry.response);
            record.guardrails.push(...checked.decisions);
            if (checked.blocked) {
              sendOutputBlocked(res, record, deps, checked.blocked);
              return;
            }
            record.completion = checked.completion;
          }
          sendCompletion(res, record, deps, { 'x-cache-age': String(ageSeconds) }, admitted);
          return;
        }
      }

      if (record.bypassReason) record.cacheStatus = 'bypass';
      const owner = { tenant: cacheTenant, namespace, model: request.model };
      const live = stream ? new LiveStream(res, record, deps, request, admitted, policy) : undefined;
      const forwardOnce = async (): Promise<FlightResult> => {
        const outcome = await deps.forward(request, { onChunk: live?.onChunk, clientAuthorization: admitted.upstreamAuthorization, accountHeaders: account });
        // The output policy on the whole answer: a blocked or flagged answer is never cached, a
        // masked one is cached masked, and the entry remembers which policy it passed.
        const moderated = outcome.ok && policy.output.length > 0 ? await checkCompletion(policy, outcome.completion) : undefined;
        const notCacheable = outcome.ok
          ? (uncacheableReason(outcome.completion) ??
            (moderated?.blocked || live?.moderator?.blocked ? 'blocked by the output policy' : undefined) ??
            ([...(moderated?.decisions ?? []), ...(live?.moderator?.decisions ?? [])].some((d) => d.action === 'flag') ? 'flagged by the output policy' : undefined))
          : undefined;
        if (notCacheable) deps.logger.info('answer not cached', { event: 'not_cached', requestId, reason: notCacheable });
        if (outcome.ok && directives.store && !notCacheable && (record!.bypassReason || !deps.cache.available)) {
          deps.logger.info('answer not cached: the store is unreachable', { event: 'not_cached', requestId, reason: 'store_unavailable' });
        } else if (outcome.ok && directives.store && !notCacheable) {
          await deps.cache
            .store(keys, owner, moderated?.completion ?? outcome.completion, lookup?.vector, { moderatedBy: policy.outputFingerprint })
            .catch((err) => deps.logger.error('cache store failed', { requestId, error: (err as Error).message }));
        }
        const targets = lookup?.bound?.verify;
        if (outcome.ok && targets && record) {
          // A verification call: the client gets this fresh answer; the cached one is judged by it.
          record.verification = await deps.cache
            .recordVerification(targets, outcome.completion)
            .catch((err): undefined => {
              deps.logger.error('cache verification not recorded', { requestId, error: (err as Error).message });
              return undefined;
            });
        }
        return { outcome, moderated, fingerprint: policy.outputFingerprint };
      };
      await admitted.reserveUpstream();
      // Only requests that both read and write the cache are coalesced: no-store / no-cache ask
      // for their own fresh answer.
      const flight = directives.lookup && directives.store && !record.bypassReason ? flights.run(keys.exactKey, forwardOnce) : { promise: forwardOnce(), leader: true };
      const result = await flight.promise;
      const outcome = result.outcome;
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
      if (live && flight.leader) {
        await live.finish(result.moderated);
        return;
      }
      if (policy.output.length > 0) {
        // A follower under another output policy than its leader's checks the answer itself.
        const checked = result.fingerprint === policy.outputFingerprint && result.moderated ? result.moderated : await checkCompletion(policy, outcome.completion);
        record.guardrails.push(...checked.decisions);
        if (checked.blocked) {
          sendOutputBlocked(res, record, deps, checked.blocked);
          return;
        }
        record.completion = checked.completion;
      }
      if (!flight.leader) {
        // A coalesced follower got the leader's answer without an upstream call of its own.
        record.cacheStatus = 'hit';
        sendCompletion(res, record, deps, { 'x-cache-age': '0', 'x-cache-coalesced': 'true' }, admitted);
        return;
      }
      sendCompletion(res, record, deps, {}, admitted);
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
        logLine(deps, { requestId, status: apiErr.status, code: apiErr.code, totalMs: performance.now() - t0, error: apiErr.message, guardrails: decisionsForLog(guardDecisions) });
      }
    } finally {
      const decisions = record?.guardrails ?? guardDecisions;
      if (decisions.length && deps.onGuardDecisions) {
        try {
          deps.onGuardDecisions(decisions);
        } catch (err) {
          deps.logger.error('guardrail observer failed', { requestId, error: (err as Error).message });
        }
      }
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
  const flagged = flaggedValue(record.guardrails);
  if (flagged) h[FLAGGED_HEADER] = flagged;
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

/**
 * An answer the output policy blocks before any of it was sent: a 400 in OpenAI's error shape
 * with code content_filter, or for a streamed request a stream whose only choice ends at once
 * with finish_reason "content_filter".
 */
function sendOutputBlocked(res: Response, record: RequestRecord, deps: ChatRouteDeps, blocked: GuardDecision): void {
  record.errorMessage = blockMessage(blocked);
  if (!record.stream) {
    record.status = 400;
    setSafeHeaders(res, cacheHeaders(record, deps));
    sendError(res, new ApiError(400, blockMessage(blocked), 'invalid_request_error', 'content_filter'));
    return;
  }
  setSafeHeaders(res, cacheHeaders(record, deps));
  startSse(res);
  const c = record.completion;
  const chunk: ChatCompletionChunk = {
    id: c?.id ?? `chatcmpl-${record.requestId}`,
    object: 'chat.completion.chunk',
    created: c?.created ?? Math.floor(Date.now() / 1000),
    model: c?.model ?? record.model,
    choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: 'content_filter' }],
  };
  res.write(sseData(chunk));
  res.end(SSE_DONE);
}

function startSse(res: Response): void {
  res.status(200);
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('connection', 'keep-alive');
  res.flushHeaders();
}

/**
 * Relays an upstream stream to the client as it arrives (the leader of a streamed miss). Under an
 * output policy, text passes through a StreamModerator (held back a little, checked, masked or
 * blocked); from the first finish_reason on, chunks wait for the end of the stream, where the
 * held text is checked as settled and the external moderation check (if any) reads the whole
 * answer. A block ends the stream at once with finish_reason "content_filter" on every choice.
 */
class LiveStream {
  started = false;
  readonly moderator?: StreamModerator;
  private readonly includeUsage: boolean;
  private readonly present: (chunk: ChatCompletionChunk) => ChatCompletionChunk;
  private ended = false;
  private holding = false;
  private readonly queue: ChatCompletionChunk[] = [];
  private readonly indexes = new Set<number>();
  private meta?: Pick<ChatCompletionChunk, 'id' | 'created' | 'model'>;

  constructor(
    private readonly res: Response,
    private readonly record: RequestRecord,
    private readonly deps: ChatRouteDeps,
    request: ChatRequest,
    private readonly admission: Admission,
    private readonly policy: GuardPolicy,
  ) {
    this.includeUsage = request.stream_options?.include_usage === true;
    this.present = admission.chunkPresenter();
    if (policy.output.some((c) => c.check !== 'moderation')) this.moderator = new StreamModerator(policy.output);
  }

  private get open(): boolean {
    return !this.ended && !this.res.writableEnded && !this.res.destroyed;
  }

  private write(chunk: ChatCompletionChunk): void {
    if (this.open) this.res.write(sseData(this.present(chunk)));
  }

  readonly onChunk = (chunk: ChatCompletionChunk, source: ChunkSource): void => {
    // The gateway asked the upstream for usage; a client that did not ask does not get it.
    if (!this.includeUsage && chunk.choices.length === 0 && chunk.usage) return;
    if (!this.started) {
      this.started = true;
      this.record.provider = source.provider;
      this.record.upstreamModel = source.model;
      setSafeHeaders(this.res, cacheHeaders(this.record, this.deps));
      // The cost of a streamed miss is known only at its end: it follows as an HTTP trailer, as
      // do checks the output policy flags on the way.
      const trailers = [...(this.deps.account ? ['x-gateway-cost-usd'] : []), ...(this.policy.output.length ? [FLAGGED_HEADER] : [])];
      if (trailers.length) this.res.setHeader('trailer', trailers.join(', '));
      startSse(this.res);
    }
    if (!this.open) return;
    // OpenAI sends "usage": null on every chunk when usage is asked for; the client did not ask.
    const out = !this.includeUsage && 'usage' in chunk ? { ...chunk, usage: undefined } : chunk;
    this.meta ??= { id: out.id, created: out.created, model: out.model };
    if (this.policy.output.length === 0) {
      this.write(out);
      return;
    }
    if (this.holding) {
      this.queue.push(out);
      return;
    }
    const choices: ChunkChoice[] = [];
    for (const c of out.choices) {
      this.indexes.add(c.index);
      let delta = c.delta;
      if (this.moderator && typeof delta.content === 'string' && delta.content.length > 0) {
        const step = this.moderator.push(c.index, delta.content);
        if (step.blocked) {
          this.block();
          return;
        }
        delta = { ...delta, content: step.text };
      }
      if (c.finish_reason !== null) this.holding = true;
      choices.push({ ...c, delta });
    }
    const moderated = { ...out, choices };
    if (this.holding) this.queue.push(moderated);
    else this.write(moderated);
  };

  /** Ends the stream now: every choice finishes with "content_filter". Nothing held is sent. */
  private block(): void {
    if (!this.open) return;
    const meta = this.meta ?? { id: `chatcmpl-${this.record.requestId}`, created: Math.floor(Date.now() / 1000), model: this.record.model };
    const indexes = this.indexes.size ? [...this.indexes].sort((a, b) => a - b) : [0];
    const chunk: ChatCompletionChunk = { ...meta, object: 'chat.completion.chunk', choices: indexes.map((index) => ({ index, delta: {}, finish_reason: 'content_filter' })) };
    this.res.write(sseData(chunk));
    this.collectDecisions();
    this.addTrailers();
    this.res.end(SSE_DONE);
    this.ended = true;
  }

  private collectDecisions(extra: GuardDecision[] = []): void {
    if (this.moderator) this.record.guardrails.push(...this.moderator.decisions);
    this.record.guardrails.push(...extra);
  }

  private addTrailers(): void {
    const trailers: Record<string, string> = {};
    const cost = costHeaders(this.record, this.deps)['x-gateway-cost-usd'];
    if (cost !== undefined && this.deps.account) trailers['x-gateway-cost-usd'] = cost;
    const flagged = flaggedValue(this.record.guardrails);
    if (flagged && this.policy.output.length) trailers[FLAGGED_HEADER] = flagged;
    if (Object.keys(trailers).length) this.res.addTrailers(trailers);
  }

  /**
   * The upstream failed after chunks went out (status 200 already sent): end the stream as OpenAI
   * does, with an error event the SDKs raise as an APIError, and no [DONE], so no client takes the
   * partial answer for a whole one.
   */
  fail(body: unknown, message: string): void {
    if (!this.open) return;
    const upstream = (body as { error?: { type?: unknown; code?: unknown } } | undefined)?.error;
    const type = typeof upstream?.type === 'string' ? upstream.type : 'upstream_error';
    const code = typeof upstream?.code === 'string' ? upstream.code : null;
    this.res.end(sseData(errorBody(message, type, code)));
  }

  /** The upstream's stream is complete: release what was held (checked), then [DONE]. */
  async finish(moderated: FlightResult['moderated']): Promise<void> {
    if (!this.started) {
      // An upstream that streamed no chunk at all still completed; replay what was assembled.
      if (moderated) {
        this.record.guardrails.push(...moderated.decisions);
        if (moderated.blocked) {
          sendOutputBlocked(this.res, this.record, this.deps, moderated.blocked);
          return;
        }
        this.record.completion = moderated.completion;
      }
      sendCompletion(this.res, this.record, this.deps, {}, this.admission);
      return;
    }
    if (!this.open) return;
    if (this.policy.output.length > 0) {
      const released: ChunkChoice[] = [];
      for (const index of [...this.indexes].sort((a, b) => a - b)) {
        const step = this.moderator?.finish(index);
        if (step?.blocked) {
          this.block();
          return;
        }
        if (step?.text) released.push({ index, delta: { content: step.text }, finish_reason: null });
      }
      const external = this.policy.output.filter((c) => c.check === 'moderation');
      let externalDecisions: GuardDecision[] = [];
      if (external.length && this.record.completion) {
        const texts = this.record.completion.choices.map((c) => (typeof c.message.content === 'string' ? c.message.content : ''));
        const r = await runChecks(external, 'output', texts);
        externalDecisions = r.decisions;
        if (r.blocked) {
          this.record.guardrails.push(...externalDecisions);
          this.block();
          return;
        }
      }
      if (released.length && this.meta) this.write({ ...this.meta, object: 'chat.completion.chunk', choices: released });
      for (const chunk of this.queue) this.write(chunk);
      this.collectDecisions(externalDecisions);
    }
    if (!this.open) return;
    this.addTrailers();
    this.res.end(SSE_DONE);
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
    cacheBypass: record.bypassReason,
    coalesced: record.coalesced || undefined,
    template: record.template,
    similarity: round(record.similarity),
    nearestSimilarity: round(record.nearestSimilarity),
    guardRejections: record.guardRejections.length ? record.guardRejections.map((g) => ({ similarity: round(g.similarity), reason: g.reason })) : undefined,
    maxError: record.bound?.maxError,
    errorEstimate: round(record.bound?.estimate),
    verification: record.verification
      ? record.verification.map((v, i) => ({ similarity: round(record.bound?.verify?.[i]?.similarity), equivalent: v.equivalent, rule: v.rule }))
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
    guardrails: decisionsForLog(record.guardrails),
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
