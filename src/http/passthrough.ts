import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import express, { type Request, type Response } from 'express';
import type { Logger } from 'winston';
import type { Config } from '../config.js';
import type { AdmissionControl } from './admission-control.js';
import { ApiError, sendError } from './errors.js';
import { safeHeaderValue } from './header-values.js';
import { disguisedOwnRoute, upstreamUrlFor } from './path-guard.js';

/**
 * Admits a caller to a pass-through call (keys, limits) and resolves the Authorization to send
 * upstream (a gateway key never goes upstream); `finish` runs when the call is over.
 */
export type UpstreamAuth = (
  clientAuthorization: string | undefined,
  res: Response,
) => Promise<{ authorization: string | undefined; finish: () => Promise<void>; redact: (body: Buffer, contentType: string | undefined) => Promise<Buffer> }>;

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'te', 'trailer']);
/** Client credentials other than the Authorization the gateway resolves: never forwarded. */
const CREDENTIALS = new Set(['authorization', 'proxy-authorization', 'api-key', 'x-api-key', 'cookie']);
/**
 * Upstream response headers handed back to the client; everything else (set-cookie, the
 * provider's openai-organization, internal debug headers, ...) stays behind. Content-length and
 * content-encoding are not among them: fetch has decoded the body, so they no longer apply.
 */
const PASS_FROM_UPSTREAM = new Set([
  'content-type',
  'content-disposition',
  'content-language',
  'cache-control',
  'last-modified',
  'etag',
  'openai-processing-ms',
  'openai-version',
  'x-request-id',
  'retry-after',
  'retry-after-ms',
]);
const PASS_FROM_UPSTREAM_PREFIX = 'x-ratelimit-';

const passesBack = (name: string) => PASS_FROM_UPSTREAM.has(name) || name.startsWith(PASS_FROM_UPSTREAM_PREFIX);

/**
 * Every other /v1 endpoint (embeddings, moderations, audio, files, responses, ...) is forwarded to
 * UPSTREAM_BASE_URL as it is, uncached, so an app that points its whole OpenAI client at the
 * gateway keeps working. Gateway keys are checked and swapped for the upstream credential.
 */
export function mountPassthrough(
  app: express.Express,
  deps: { config: Config; logger: Logger; upstreamAuth: UpstreamAuth; admissionControl?: AdmissionControl },
): void {
  const raw = express.raw({ limit: deps.config.maxBodyBytes, type: () => true });
  const forward = async (req: Request, res: Response): Promise<void> => {
    const started = performance.now();
    const controller = new AbortController();
    // The timeout covers waiting for the headers and each gap in the body, not a long download.
    let timer = setTimeout(() => controller.abort(), deps.config.upstream.timeoutMs);
    const stall = () => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), deps.config.upstream.timeoutMs);
    };
    res.on('close', () => {
      clearTimeout(timer);
      controller.abort(); // the client left: stop reading from the upstream too
    });
    let status = 0;
    let finish: (() => Promise<void>) | undefined;
    try {
      if (disguisedOwnRoute(req.originalUrl, req.method)) {
        throw new ApiError(400, 'invalid request: send chat completions as POST /v1/chat/completions exactly', 'invalid_request_error', 'invalid_path');
      }
      const grant = await deps.upstreamAuth(req.header('authorization'), res);
      finish = grant.finish;
      const auth = grant.authorization;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && !CREDENTIALS.has(k) && typeof v === 'string') headers[k] = v;
      if (auth) headers.authorization = auth;
      const url = upstreamUrlFor(deps.config.upstream.baseUrl, req.originalUrl);
      const hasBody = !['GET', 'HEAD'].includes(req.method) && Buffer.isBuffer(req.body) && req.body.length > 0;
      // Redaction applies here as on chat; a blocked body throws 400 before anything goes upstream.
      const body = hasBody ? await grant.redact(req.body as Buffer, req.header('content-type')) : undefined;
      if (body && body !== req.body) headers['content-type'] = 'application/json';
      const upstream = await fetch(url, {
        method: req.method,
        headers,
        body: body ? new Uint8Array(body) : undefined,
        signal: controller.signal,
      });
      status = upstream.status;
      res.status(upstream.status);
      upstream.headers.forEach((value, key) => {
        // A gateway key's own rate-limit windows, set when it was admitted, win over the provider's.
        if (passesBack(key) && !(key.startsWith('x-ratelimit-') && res.hasHeader(key))) res.setHeader(key, safeHeaderValue(value));
      });
      if (upstream.body) {
        const body = Readable.fromWeb(upstream.body as WebReadableStream);
        body.on('data', stall);
        // pipeline() destroys both sides on an error, where pipe() would leave it unhandled.
        await pipeline(body, res);
      } else res.end();
    } catch (err) {
      if (res.headersSent) {
        res.destroy(); // the body was cut: the client must not take it as complete
      } else if (err instanceof ApiError) {
        sendError(res, err);
      } else {
        const timedOut = controller.signal.aborted;
        sendError(res, new ApiError(timedOut ? 504 : 502, timedOut ? 'upstream did not answer in time' : 'cannot reach the upstream', 'upstream_error', null));
      }
      status = res.statusCode;
    } finally {
      clearTimeout(timer);
      await finish?.();
      deps.logger.info('passthrough', { event: 'passthrough', method: req.method, path: req.path, status, totalMs: Number((performance.now() - started).toFixed(1)) });
    }
  };
  app.all(/^\/v1\/.+/, ...(deps.admissionControl ? [deps.admissionControl.guard(raw, forward)] : [raw, forward]));
}
