import { Agent, request as httpRequest, type Dispatcher } from 'undici';
import { UpstreamStreamError, type ChatCompletion, type ChatCompletionChunk, type ChatRequest, type Provider, type Target } from './types.js';
import { parseSse } from './sse.js';
import { StreamAssembler } from './stream-assembler.js';

/** Which target a streamed chunk came from (the response headers name it before the first byte). */
export interface ChunkSource {
  provider: string;
  model: string;
}

/** A complete answer, or the reason there is none. Only `ok` answers are ever cached. */
export type UpstreamOutcome =
  | { ok: true; completion: ChatCompletion; upstreamMs: number; target: Target; provider: string }
  | {
      ok: false;
      /** HTTP status to give the client (the upstream's own, or 502/504 when it never answered). */
      status: number;
      /** OpenAI-shaped error body. */
      body: unknown;
      headers: Record<string, string>;
      message: string;
      /** Whether a retry or another target may succeed (connect errors, timeouts, 429, 5xx). */
      retryable: boolean;
      /** True when chunks already reached the client: no fallback may follow. */
      streamStarted: boolean;
      upstreamMs: number;
      target: Target;
      provider: string;
    };

export interface CallOptions {
  /** Called with each chunk as it arrives (streaming calls only). */
  onChunk?: (chunk: ChatCompletionChunk, source: ChunkSource) => void;
  /** Extra headers for the upstream call (e.g. the client's Authorization when no key is configured). */
  extraHeaders?: Record<string, string>;
  /** Headers sent whatever the target's key (the client's OpenAI-Organization / OpenAI-Project). */
  forwardHeaders?: Record<string, string>;
}

/**
 * One connection pool per upstream origin, kept alive between calls: a miss reuses a warm
 * connection instead of paying for a new one, and undici's request API skips fetch's WHATWG
 * Request/Response/stream layers (measured at about a fifth of a miss's CPU).
 */
const upstreamAgent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 300_000, connect: { timeout: 30_000 } });

function header(res: Dispatcher.ResponseData, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Headers worth handing back to the client from an upstream error. */
const PASS_HEADERS = ['retry-after'];

/**
 * Makes one call to one target through its provider's transforms. Streaming calls ask the upstream
 * for usage and fold the chunks into a completion; the answer counts as complete only when the
 * upstream sent its final event.
 */
export async function callUpstream(provider: Provider, target: Target, request: ChatRequest, opts: CallOptions = {}): Promise<UpstreamOutcome> {
  const started = performance.now();
  const stream = request.stream === true;
  const upstreamRequest: ChatRequest = stream ? { ...request, stream: true, stream_options: { ...(request.stream_options ?? {}), include_usage: true } } : { ...request };
  const built = provider.toUpstream(upstreamRequest, target);
  const controller = new AbortController();
  // The timeout covers waiting for the response headers and, for streams, each gap between chunks.
  let timer = setTimeout(() => controller.abort(), target.timeoutMs);
  const fail = (status: number, message: string, retryable: boolean, streamStarted = false, headers: Record<string, string> = {}, body?: unknown): UpstreamOutcome => ({
    ok: false,
    status,
    body: body ?? { error: { message, type: status === 504 ? 'timeout' : 'upstream_error', code: null, param: null } },
    headers,
    message,
    retryable,
    streamStarted,
    upstreamMs: performance.now() - started,
    target,
    provider: provider.name,
  });
  let res: Dispatcher.ResponseData;
  try {
    res = await httpRequest(built.url, {
      method: 'POST',
      headers: { ...opts.forwardHeaders, ...built.headers, ...(target.apiKey ? {} : clientCredentials(provider, opts.extraHeaders)), accept: stream ? 'text/event-stream' : 'application/json' },
      body: JSON.stringify(built.body),
      signal: controller.signal,
      dispatcher: upstreamAgent,
      // The AbortController above is the one timeout (headers, and each gap in a stream).
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  } catch (err) {
    clearTimeout(timer);
    if (controller.signal.aborted) return fail(504, `upstream ${provider.name} did not answer within ${target.timeoutMs} ms`, true);
    return fail(502, `cannot reach upstream ${provider.name}: ${describeFetchError(err)}`, true);
  }

  const status = res.statusCode;
  if (status < 200 || status > 299) {
    clearTimeout(timer);
    const text = await res.body.text().catch(() => '');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON: wrapped below */
    }
    const message = provider.errorMessage ? provider.errorMessage(status, body) : `upstream returned HTTP ${status}`;
    const headers: Record<string, string> = {};
    for (const h of PASS_HEADERS) {
      const v = header(res, h);
      if (v) headers[h] = v;
    }
    // OpenAI-shaped bodies pass through as they are; anything else is wrapped so clients can parse it.
    const passBody = isOpenAIError(body) && provider.name.startsWith('openai') ? body : { error: { message, type: 'upstream_error', code: `upstream_http_${status}`, param: null } };
    return fail(status, message, status === 429 || status >= 500, false, headers, passBody);
  }

  if (!stream) {
    try {
      const body = JSON.parse(await res.body.text()) as unknown;
      clearTimeout(timer);
      return { ok: true, completion: provider.fromUpstream(body, request), upstreamMs: performance.now() - started, target, provider: provider.name };
    } catch (err) {
      clearTimeout(timer);
      if (controller.signal.aborted) return fail(504, `upstream ${provider.name} did not finish within ${target.timeoutMs} ms`, true);
      return fail(502, `upstream ${provider.name} sent an unreadable answer: ${(err as Error).message}`, true);
    }
  }

  const translator = provider.streamTranslator(request);
  const assembler = new StreamAssembler();
  let started_ = false;
  try {
    for await (const event of parseSse(res.body as AsyncIterable<Uint8Array>)) {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), target.timeoutMs);
      for (const chunk of translator.push(event)) {
        assembler.push(chunk);
        started_ = true;
        opts.onChunk?.(chunk, { provider: provider.name, model: target.model });
      }
      if (translator.done) break;
    }
  } catch (err) {
    clearTimeout(timer);
    const reason = controller.signal.aborted ? `stalled for ${target.timeoutMs} ms` : (err as Error).message;
    const status = controller.signal.aborted ? 504 : 502;
    const message = `upstream ${provider.name} stream failed: ${reason}`;
    // An error the upstream reported in its stream keeps its type, for the client's error event.
    const type = err instanceof UpstreamStreamError ? (err.errorType ?? 'upstream_error') : status === 504 ? 'timeout' : 'upstream_error';
    const code = err instanceof UpstreamStreamError ? 'upstream_stream_error' : controller.signal.aborted ? 'upstream_timeout' : 'upstream_stream_cut';
    return fail(status, message, true, started_, {}, { error: { message, type, code, param: null } });
  }
  clearTimeout(timer);
  if (!translator.done || !assembler.complete) {
    return fail(502, `upstream ${provider.name} stream ended before its final event`, true, started_);
  }
  return { ok: true, completion: assembler.result(), upstreamMs: performance.now() - started, target, provider: provider.name };
}

/** The client's credential (passed on only when the target has no key) in the provider's header. */
function clientCredentials(provider: Provider, extra: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!extra?.authorization || !provider.clientCredentialHeaders) return extra;
  const { authorization, ...rest } = extra;
  return { ...rest, ...provider.clientCredentialHeaders(authorization) };
}

function isOpenAIError(body: unknown): boolean {
  return typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'object';
}

function describeFetchError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  // undici's own codes (UND_ERR_*) say less than the socket's (ECONNREFUSED, ...), when there is one.
  const code = e.code && !e.code.startsWith('UND_ERR') ? e.code : undefined;
  return code ?? e.cause?.code ?? e.message ?? String(err);
}
