import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'winston';
import { createGuard } from './cache/guard.js';
import { SemanticCache } from './cache/semantic-cache.js';
import type { Config } from './config.js';
import type { Embedder } from './embedding/embedder.js';
import { createTransformersEmbedder, readModelDefaults } from './embedding/transformers-embedder.js';
import { createApp } from './http/app.js';
import type { ForwardChat } from './http/chat-route.js';
import { createLogger } from './observability/logger.js';
import { openaiProvider } from './providers/openai/index.js';
import type { Target } from './providers/types.js';
import { callUpstream } from './providers/upstream-client.js';
import { openKvStores, type KvStores } from './store/kv.js';

export interface Gateway {
  server: http.Server;
  /** Base URL once listening, e.g. http://127.0.0.1:8080 */
  url: string;
  cache: SemanticCache;
  logger: Logger;
  close(): Promise<void>;
}

export interface GatewayOverrides {
  /** Reuse an already-loaded embedder (tests, benchmarks); the gateway then does not close it. */
  embedder?: Embedder;
  logger?: Logger;
}

/** Wires every module once, in request-path order, and starts listening on HOST:PORT. */
export async function startGateway(config: Config, overrides: GatewayOverrides = {}): Promise<Gateway> {
  const logger = overrides.logger ?? createLogger(config.log);
  const embedder =
    overrides.embedder ??
    (await createTransformersEmbedder({ model: config.embedding.model, modelsDir: config.embedding.modelsDir, allowRemote: config.embedding.allowRemote }));
  const threshold = config.cache.similarityThreshold ?? readModelDefaults(config.embedding.modelsDir, embedder.name).similarityThreshold;
  let kv: KvStores | undefined;
  try {
    kv = await openKvStores(config.cache.storeUrl, config.dataDir);
    const cache = await SemanticCache.open({
      kv,
      embedder,
      guard: config.cache.guard ? createGuard() : undefined,
      logger,
      dataDir: config.dataDir,
      defaultThreshold: threshold,
      ttlSeconds: config.cache.ttlSeconds,
      maxEntries: config.cache.maxEntries,
      hnsw: config.cache.hnsw,
    });

    const target: Target = { provider: 'openai', baseUrl: config.upstream.baseUrl, model: '', apiKey: config.upstream.apiKey, timeoutMs: config.upstream.timeoutMs };
    const forward: ForwardChat = (request, ctx) =>
      callUpstream(openaiProvider, { ...target, model: request.model }, request, {
        onChunk: ctx.onChunk,
        // With no UPSTREAM_API_KEY the client's own credential goes upstream.
        extraHeaders: ctx.clientAuthorization ? { authorization: ctx.clientAuthorization } : {},
      });
    const listModels = async (clientAuthorization: string | undefined) => {
      const auth = config.upstream.apiKey ? `Bearer ${config.upstream.apiKey}` : clientAuthorization;
      try {
        const res = await fetch(`${config.upstream.baseUrl}/models`, { headers: auth ? { authorization: auth } : {}, signal: AbortSignal.timeout(config.upstream.timeoutMs) });
        const text = await res.text();
        try {
          return { status: res.status, body: JSON.parse(text) as unknown };
        } catch {
          return { status: 502, body: { error: { message: 'upstream /models answer is not JSON', type: 'upstream_error', code: null, param: null } } };
        }
      } catch {
        return { status: 502, body: { error: { message: 'cannot reach the upstream for /models', type: 'upstream_error', code: null, param: null } } };
      }
    };

    const app = createApp({ config, logger, cache, forward, listModels, onRecord: [] });
    const server = http.createServer(app);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const url = `http://${host}:${addr.port}`;
    logger.info('gateway listening', { event: 'listening', url, embedModel: embedder.name, dimension: embedder.dimension, threshold, store: kv.kind });

    const storeKv = kv;
    let closed = false;
    return {
      server,
      url,
      cache,
      logger,
      close: async () => {
        if (closed) return;
        closed = true;
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await cache.close();
        await storeKv.close();
        if (!overrides.embedder) await embedder.close?.();
      },
    };
  } catch (err) {
    await kv?.close();
    if (!overrides.embedder) await embedder.close?.();
    throw err;
  }
}
