import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'winston';
import { createGuard } from './cache/guard.js';
import { loadVerifierWeights } from './cache/verify/scorer.js';
import { createVerifier } from './cache/verify/verifier.js';
import { loadWordSimilarity } from './cache/word-similarity.js';
import { DEFAULT_HYBRID_WEIGHTS } from './cache/hybrid-score.js';
import { SemanticCache } from './cache/semantic-cache.js';
import type { Config } from './config.js';
import type { Embedder } from './embedding/embedder.js';
import { createTransformersEmbedder, readModelDefaults } from './embedding/transformers-embedder.js';
import { createApp } from './http/app.js';
import { answerClientError } from './http/client-error.js';
import { createAdmissionControl } from './http/admission-control.js';
import { mountPassthrough } from './http/passthrough.js';
import { loadPriceTable } from './accounting/prices.js';
import { accountRequest } from './accounting/request-cost.js';
import { freeEncoders } from './accounting/tokens.js';
import { UsageTotalsStore } from './accounting/totals.js';
import { createLogger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { createRequestObserver } from './observability/request-observers.js';
import { createCacheQualityObserver, registerCacheQualityMetrics } from './observability/cache-quality.js';
import { mountObservabilityRoutes } from './observability/routes.js';
import { gatewayKeyCredentialWarning, upstreamsWithoutKey } from './policy/upstream-credentials.js';
import { GatewayKeyStore } from './policy/api-keys.js';
import { mountKeyRoutes } from './policy/key-routes.js';
import { StatsCollector } from './observability/stats.js';
import { createRequestPolicy } from './policy/open-policy.js';
import { loadRoutingConfig } from './routing/config-file.js';
import { createForwarder } from './routing/forwarder.js';
import { loadDenyFile } from './guardrails/deny-list.js';
import { Guardrails } from './guardrails/engine.js';
import { envPolicy } from './guardrails/policy.js';
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
  const prices = loadPriceTable(config.pricesFile);
  // Validated before anything is opened: a bad file stops the start with its path and problems.
  const denyList = config.guardrails.denyFile ? loadDenyFile(config.guardrails.denyFile) : undefined;
  const guardDefaults = envPolicy(config.guardrails.promptScreening, config.guardrails.outputModeration, denyList);
  const routing = config.gatewayConfigFile ? loadRoutingConfig(config.gatewayConfigFile, config.secretsEnv, config.upstream.timeoutMs, guardDefaults) : undefined;
  const guardrails = new Guardrails(routing?.guardrails, guardDefaults);
  const embedder =
    overrides.embedder ??
    (await createTransformersEmbedder({ model: config.embedding.model, modelsDir: config.embedding.modelsDir, allowRemote: config.embedding.allowRemote }));
  const modelDefaults = readModelDefaults(config.embedding.modelsDir, embedder.name);
  // The learned verifier (models/<model>/verifier.json) is the guard's successor: with the guard
  // on it scores candidates and its calibrated threshold is the default.
  const verifierWeights = config.cache.guard ? loadVerifierWeights(config.embedding.modelsDir, embedder.name) : undefined;
  const threshold = config.cache.similarityThreshold ?? verifierWeights?.threshold ?? modelDefaults.similarityThreshold;
  const scoring =
    modelDefaults.score === 'hybrid' ? { kind: 'hybrid' as const, weights: modelDefaults.hybridWeights ?? DEFAULT_HYBRID_WEIGHTS } : { kind: 'cosine' as const };
  let kv: KvStores | undefined;
  try {
    kv = await openKvStores(config.cache.storeUrl, config.dataDir, { minFreeBytes: config.cache.storeMinFreeBytes, redis: { commandTimeoutMs: config.store.timeoutMs, connectTimeoutMs: config.store.connectTimeoutMs } });
    const cache = await SemanticCache.open({
      kv,
      embedder,
      guard: config.cache.guard && !verifierWeights ? createGuard({ wordSimilarity: loadWordSimilarity(config.embedding.modelsDir, embedder.name) }) : undefined,
      verifier: verifierWeights ? createVerifier(verifierWeights, { wordSimilarity: loadWordSimilarity(config.embedding.modelsDir, embedder.name) }) : undefined,
      logger,
      dataDir: config.dataDir,
      defaultThreshold: threshold,
      scoring,
      ttlSeconds: config.cache.ttlSeconds,
      maxEntries: config.cache.maxEntries,
      hnsw: config.cache.hnsw,
      flatScopeLimit: config.cache.flatScopeLimit,
      errorBound: { maxErrorRate: config.cache.maxErrorRate, verifyMaxRate: config.cache.verifyMaxRate },
    });

    const storeKv = kv;
    const { forward, listModels } = createForwarder(config, routing, { logger });
    const policy = createRequestPolicy({ config, kv, logger, prices, routingRedaction: routing?.redaction });
    const keyless = upstreamsWithoutKey(config, routing);
    if (keyless.length > 0 && (config.requireApiKey || (await new GatewayKeyStore(storeKv).list()).some((k) => !k.revokedAt))) {
      logger.warn(gatewayKeyCredentialWarning(keyless), { event: 'upstream_credentials' });
    }

    const metrics = createMetrics({ processMetrics: true });
    metrics.sources.cacheEntries = () => cache.size;
    metrics.sources.indexSize = () => cache.indexSize;
    metrics.sources.storeDegraded = () => (kv!.health.degraded ? 1 : 0);
    kv.health.on((e) => {
      if (e.type === 'failure') {
        metrics.storeFailures.inc({ op: e.op });
        logger.error('store operation failed', { event: 'store_failure', op: e.op, error: e.error.message, began: e.began });
        if (e.op === 'connect' && e.began) {
          logger.error('store unreachable: requests are served without the cache (x-cache-status: bypass), gateway keys and limits are refused (503 store_unavailable) until it answers again', { event: 'store_unreachable' });
        }
      } else {
        logger.warn('store recovered', { event: 'store_recovered', op: e.op, downMs: e.downMs });
        if (e.op === 'connect') logger.warn('store reachable again: caching resumes', { event: 'store_reachable', downMs: e.downMs });
      }
    });
    const stats = new StatsCollector({ logPrompts: config.log.prompts, threshold });
    const totals = new UsageTotalsStore(kv.open('totals', { throwOnErrors: true }), {
      onFlushError: (err) => logger.error('totals flush failed', { error: (err as Error).message }),
    });
    const isKnownModel = (model: string) => prices.lookup(model) !== undefined || (routing?.models.has(model) ?? false);
    const observe = createRequestObserver({ metrics, stats, totals, logPrompts: config.log.prompts, isKnownModel });
    const quality = createCacheQualityObserver(stats.cacheQuality);
    registerCacheQualityMetrics(metrics.registry, stats.cacheQuality);

    const onRejected = (status: number, code: string | null) => metrics.rejectedRequests.inc({ status: String(status), code: code ?? 'none' });
    const admission = createAdmissionControl(config.admission, onRejected);
    const app = createApp({
      config,
      logger,
      cache,
      forward,
      policy,
      // Gateway keys apply to /v1/models too, and a gateway key never goes upstream.
      listModels: async (authorization) => listModels((await policy.identify(authorization)).upstreamAuthorization),
      onRecord: [observe, quality.onRecord],
      onFeedback: quality.onFeedback,
      onRejected,
      templates: routing?.templates,
      aliasSystemPrompt: (model) => routing?.systemPrompts.get(model),
      guardrails,
      onGuardDecisions: (decisions) => {
        for (const d of decisions) metrics.guardrailDecisions.inc({ stage: d.stage, check: d.check, action: d.action });
        stats.recordGuardDecisions(decisions);
        for (const d of decisions) if (d.check === 'moderation' && d.detail?.some((c) => c.startsWith('error:'))) logger.warn('moderation endpoint failed', { event: 'moderation_error', stage: d.stage, error: d.detail.join(',') });
      },
      admissionControl: admission,
      storeHealth: kv.health,
      account: (r) => accountRequest(prices, r.request, r.completion!, r.cacheStatus === 'hit' || r.cacheStatus === 'semantic-hit'),
      extraRoutes: (a) => {
        mountObservabilityRoutes(a, { adminApiKey: config.adminApiKey, metrics, stats, totals });
        mountKeyRoutes(a, { adminApiKey: config.adminApiKey, keys: new GatewayKeyStore(storeKv) });
        mountPassthrough(a, { config, logger, admissionControl: admission, upstreamAuth: async (authorization, res) => {
            // Admit first: it enforces REQUIRE_API_KEY, rejects unknown gateway keys and counts the key's limits.
            const { caller, finish } = await policy.admitPassthrough(authorization, res);
            return {
              authorization: config.upstream.apiKey ? `Bearer ${config.upstream.apiKey}` : caller.upstreamAuthorization,
              finish,
              redact: (body, contentType) => policy.redactPassthroughBody(caller, body, contentType),
            };
          },
        });
      },
    });
    const server = http.createServer(app);
    server.on('clientError', answerClientError);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const url = `http://${host}:${addr.port}`;
    logger.info('gateway listening', { event: 'listening', url, embedModel: embedder.name, dimension: embedder.dimension, threshold, scoring: verifierWeights ? 'verifier' : scoring.kind, store: kv.kind });

    let closed = false;
    return {
      server,
      url,
      cache,
      logger,
      close: async () => {
        if (closed) return;
        closed = true;
        // Stop accepting, let requests in flight finish (LLM calls can take a while), then force.
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
          // Keep-alive connections whose request finishes go idle: close them as they do.
          const reap = setInterval(() => server.closeIdleConnections(), 50);
          server.close(() => {
            clearTimeout(force);
            clearInterval(reap);
            resolve();
          });
          server.closeIdleConnections();
        });
        await policy.close();
        await cache.close();
        // A store that is down must not stop the shutdown: the unsaved counts are logged as lost.
        await totals.close().catch((err) => logger.error('totals not saved at shutdown', { event: 'totals_lost', error: (err as Error).message }));
        await storeKv.close();
        freeEncoders();
        if (!overrides.embedder) await embedder.close?.();
      },
    };
  } catch (err) {
    await kv?.close();
    if (!overrides.embedder) await embedder.close?.();
    throw err;
  }
}
