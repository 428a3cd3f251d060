import type { Logger } from 'winston';
import type { ForwardChat } from '../http/chat-route.js';
import { ApiError } from '../http/errors.js';
import { getProvider } from '../providers/registry.js';
import { ProviderRequestError, type ChatRequest, type Target } from '../providers/types.js';
import { callUpstream, type CallOptions, type UpstreamOutcome } from '../providers/upstream-client.js';
import { CircuitBreaker } from './circuit-breaker.js';
import type { RetryPolicy, RouteTarget, RoutingConfig } from './config-file.js';
import { weightedOrder } from './weighted-order.js';

export interface RouterOptions {
  logger: Logger;
  /** Injectable for tests. */
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Identifies a target to the breaker and in logs; no secret in it. */
export function targetId(t: Pick<RouteTarget, 'provider' | 'baseUrl' | 'model'>): string {
  return `${t.provider} ${t.baseUrl} ${t.model}`;
}

/**
 * Exponential backoff with "equal jitter": half the step is fixed, half random, so retries of
 * many clients spread out but none retries immediately.
 */
export function backoffDelay(retry: RetryPolicy, failedAttempts: number, random: () => number): number {
  const step = Math.min(retry.maxBackoffMs, retry.backoffMs * 2 ** (failedAttempts - 1));
  return Math.round(step / 2 + (random() * step) / 2);
}

/** Non-retryable failures that belong to one target (its key, its model list, its clock), so another target may still answer. */
const TARGET_SPECIFIC_STATUSES = new Set([401, 403, 404, 408]);

/** Seconds from an upstream's Retry-After, when it is a plain number. */
function retryAfterMs(outcome: UpstreamOutcome): number | undefined {
  if (outcome.ok) return undefined;
  const v = Number(outcome.headers['retry-after']);
  return Number.isFinite(v) && v >= 0 ? v * 1000 : undefined;
}

/**
 * Forwards a miss to the targets of the requested alias: in priority order (weighted within a
 * priority), each retried with backoff on retryable failures (connect errors, timeouts, 429, 5xx),
 * skipping targets whose circuit is open. A 401/403/404/408 moves on to the next target without a
 * retry; any other 4xx goes back to the client. Nothing is retried once a chunk reached the client.
 */
export function createRouter(routing: RoutingConfig, opts: RouterOptions): ForwardChat {
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const breaker = new CircuitBreaker(routing.breaker, now);

  return async (request, ctx) => {
    const targets = routing.models.get(request.model);
    if (!targets) {
      throw new ApiError(404, `The model \`${request.model}\` does not exist; this gateway serves: ${[...routing.models.keys()].join(', ')}`, 'invalid_request_error', 'model_not_found', 'model');
    }
    let last: UpstreamOutcome | undefined;
    let unsupported: ProviderRequestError | undefined;
    let skipped = 0;
    for (const route of weightedOrder(targets, random)) {
      const id = targetId(route);
      if (breaker.isOpen(id)) {
        skipped++;
        continue;
      }
      const target: Target = { provider: route.provider, baseUrl: route.baseUrl, model: route.model, apiKey: route.apiKey, timeoutMs: route.timeoutMs };
      const call: CallOptions = {
        onChunk: ctx.onChunk,
        // A target without a key of its own may take the client's (never a gateway key: the policy step drops those).
        extraHeaders: ctx.clientAuthorization ? { authorization: ctx.clientAuthorization } : {},
        // OpenAI's account headers mean nothing to other providers.
        forwardHeaders: route.provider === 'openai' ? ctx.accountHeaders : undefined,
      };
      for (let attempt = 1; attempt <= routing.retry.attempts; attempt++) {
        let outcome: UpstreamOutcome;
        try {
          outcome = await callUpstream(getProvider(route.provider), target, request, call);
        } catch (err) {
          // This provider cannot express the request (e.g. n > 1 on Anthropic); another kind may.
          if (err instanceof ProviderRequestError) {
            unsupported = err;
            break;
          }
          throw err;
        }
        if (outcome.ok) {
          breaker.recordSuccess(id);
          return outcome;
        }
        last = outcome;
        if (!outcome.retryable) {
          // A bad request (400, 422, ...) would be refused by every target: the client gets it as is.
          if (!TARGET_SPECIFIC_STATUSES.has(outcome.status)) return outcome;
          // 401/403/404 are this target's configuration (its key, its model list), not an outage:
          // no retry, no strike against its circuit, on to the next target. A 408 is a timeout.
          if (outcome.status === 408) breaker.recordFailure(id);
          opts.logger.warn('upstream target refused the request', { event: 'upstream_failure', alias: request.model, target: id, attempt, status: outcome.status, error: outcome.message });
          break;
        }
        breaker.recordFailure(id);
        opts.logger.warn('upstream attempt failed', { event: 'upstream_failure', alias: request.model, target: id, attempt, status: outcome.status, error: outcome.message });
        if (outcome.streamStarted) return outcome;
        if (attempt === routing.retry.attempts || breaker.isOpen(id)) break;
        const delay = backoffDelay(routing.retry, attempt, random);
        const asked = retryAfterMs(outcome);
        // An upstream asking for a longer pause than our backoff allows is better left for the next target.
        if (asked !== undefined && asked > routing.retry.maxBackoffMs) break;
        await sleep(Math.max(delay, asked ?? 0));
      }
    }
    if (last) return last;
    if (unsupported) throw new ApiError(400, unsupported.message, 'invalid_request_error', 'unsupported_by_provider');
    return allTargetsCooling(request, targets, breaker, now(), skipped);
  };
}

function allTargetsCooling(request: ChatRequest, targets: RouteTarget[], breaker: CircuitBreaker, now: number, skipped: number): UpstreamOutcome {
  const reopensAt = Math.min(...targets.map((t) => breaker.openUntil(targetId(t)) || now));
  const seconds = Math.max(1, Math.ceil((reopensAt - now) / 1000));
  const first = targets[0]!;
  const message = `all ${skipped} target(s) of model ${request.model} are failing and cooling down; retry in ${seconds} s`;
  return {
    ok: false,
    status: 503,
    body: { error: { message, type: 'upstream_error', code: 'targets_unavailable', param: null } },
    headers: { 'retry-after': String(seconds) },
    message,
    retryable: true,
    streamStarted: false,
    upstreamMs: 0,
    target: { provider: first.provider, baseUrl: first.baseUrl, model: first.model, timeoutMs: first.timeoutMs },
    provider: first.provider,
  };
}
