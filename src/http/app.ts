import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'winston';
import type { SemanticCache } from '../cache/semantic-cache.js';
import type { Config } from '../config.js';
import type { AdmissionControl } from './admission-control.js';
import { StoreUnavailableError, type StoreHealth } from '../store/store-health.js';
import { requireAdmin } from './admin-auth.js';
import { createChatHandler, type ChatRouteDeps } from './chat-route.js';
import { createFeedbackHandler, type FeedbackDeps } from './feedback-route.js';
import { templateCallBody } from '../templates/template-route.js';
import { ApiError, sendError } from './errors.js';
import { rejectNonCanonicalPaths } from './path-guard.js';

export interface AppDeps extends ChatRouteDeps {
  config: Config;
  logger: Logger;
  cache: SemanticCache;
  /** GET /v1/models: passed through to the upstream (or answered from the routing config). */
  listModels: (clientAuthorization: string | undefined) => Promise<{ status: number; body: unknown }>;
  /** Admission control (MAX_INFLIGHT) in front of the routes that do real work. */
  admissionControl?: AdmissionControl;
  /** Extra routers mounted before the 404 handler (metrics, stats, dashboard). */
  extraRoutes?: (app: express.Express) => void;
  /** Feedback taken by POST /v1/cache/feedback (metrics, stats). */
  onFeedback?: FeedbackDeps['onFeedback'];
  /** The store's health; /health says "degraded" (still 200: requests are served) while it fails. */
  storeHealth?: StoreHealth;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Before any route: a dot segment or an escaped separator must not steer around the chat route.
  app.use(rejectNonCanonicalPaths);

  app.get('/health', (_req, res) => {
    const store = deps.storeHealth?.snapshot();
    res.json({
      status: store?.status ?? 'ok',
      ...(store?.reason ? { reason: store.reason } : {}),
      cache: { entries: deps.cache.size, indexed: deps.cache.indexSize },
      ...(store ? { store } : {}),
    });
  });

  const admitted = (parser: express.RequestHandler | undefined, handler: (req: Request, res: Response, next: NextFunction) => unknown): express.RequestHandler[] =>
    deps.admissionControl ? [deps.admissionControl.guard(parser, handler)] : parser ? [parser, handler] : [handler];

  app.get(
    '/v1/models',
    ...admitted(undefined, async (req, res, next) => {
      try {
        const { status, body } = await deps.listModels(req.header('authorization'));
        res.status(status).json(body);
      } catch (err) {
        next(err);
      }
    }),
  );

  const jsonBody = express.json({ limit: deps.config.maxBodyBytes, type: () => true });
  const chatHandler = createChatHandler(deps);
  app.post('/v1/chat/completions', ...admitted(jsonBody, chatHandler));
  // A prompt template published as its own endpoint: the same request path as a chat call.
  app.post(
    '/v1/templates/:name',
    ...admitted(jsonBody, (req, res) => {
      try {
        req.body = templateCallBody(String(req.params.name), req.body);
      } catch (err) {
        if (err instanceof ApiError) return sendError(res, err);
        throw err;
      }
      return chatHandler(req, res);
    }),
  );

  app.post(
    '/v1/cache/feedback',
    express.json({ limit: 16 * 1024, type: () => true }),
    createFeedbackHandler({
      cache: deps.cache,
      policy: deps.policy,
      logger: deps.logger,
      adminApiKey: deps.config.adminApiKey,
      onFeedback: deps.onFeedback,
    }),
  );

  app.delete('/v1/cache', requireAdmin(deps.config.adminApiKey, { required: true }), async (req, res, next) => {
    try {
      // Anything but no filter or one namespace is refused: a malformed filter must not purge everything.
      const unknown = Object.keys(req.query).filter((k) => k !== 'namespace');
      const raw = req.query.namespace;
      if (unknown.length || (raw !== undefined && (typeof raw !== 'string' || raw === ''))) {
        throw new ApiError(400, 'DELETE /v1/cache takes no parameter, or one ?namespace=<name>', 'invalid_request_error', 'invalid_value');
      }
      const ns = raw as string | undefined;
      const deleted = await deps.cache.purge(ns);
      deps.logger.info('cache purged', { event: 'cache_purge', namespace: ns ?? '*', deleted });
      res.json({ deleted, namespace: ns ?? null });
    } catch (err) {
      if (err instanceof ApiError) sendError(res, err);
      else next(err);
    }
  });

  deps.extraRoutes?.(app);

  app.use((req, res) => {
    sendError(res, new ApiError(404, `no route for ${req.method} ${req.path}`, 'invalid_request_error', 'not_found'));
  });

  // Body-parser failures carry a `type`; map them to the client errors they are.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ApiError) {
      sendError(res, err);
      return;
    }
    if (err instanceof StoreUnavailableError) {
      // An admin operation (purge...) that needs the store while it is unreachable.
      sendError(res, new ApiError(503, `the store is unavailable: ${err.message}`, 'server_error', 'store_unavailable', null, { 'retry-after': '1' }));
      return;
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.too.large') {
      sendError(res, new ApiError(413, `request body exceeds MAX_BODY_BYTES (${deps.config.maxBodyBytes} bytes)`, 'invalid_request_error', 'request_too_large'));
    } else if (e.type === 'entity.parse.failed') {
      sendError(res, new ApiError(400, 'request body is not valid JSON', 'invalid_request_error', 'invalid_json'));
    } else if (e.status && e.status >= 400 && e.status < 500) {
      sendError(res, new ApiError(e.status, e.message ?? 'bad request', 'invalid_request_error', 'bad_request'));
    } else {
      deps.logger.error('unhandled error', { error: (err as Error)?.stack });
      sendError(res, new ApiError(500, 'internal gateway error', 'server_error', 'internal_error'));
    }
  });
  return app;
}
