import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CacheStatus } from '../accounting/totals.js';

/**
 * Prometheus metrics for GET /metrics. Each createMetrics() call builds its own Registry (never
 * prom-client's global one), so several gateways or tests can live in one process.
 */

/** Seconds, from 0.5 ms (an exact hit served from memory) to 60 s (a long generation). */
export const LATENCY_BUCKETS_SECONDS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60,
] as const;

/** Beyond this many distinct model names, further names are counted as "other" (clients choose them). */
export const MAX_MODEL_LABELS = 100;
export const OTHER_MODEL_LABEL = 'other';

export type GaugeSource = () => number | Promise<number>;

export interface MetricsOptions {
  /** Also export prom-client's process metrics (CPU, memory, event loop lag) into this registry. */
  processMetrics?: boolean;
  /** Metric name prefix. Default "gateway_". */
  prefix?: string;
}

export interface RequestObservation {
  status: number;
  cacheStatus: CacheStatus;
  model: string;
  durationSeconds: number;
  promptTokens?: number;
  completionTokens?: number;
  savedTokens?: number;
  costUsd?: number;
  savedUsd?: number;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  /** requests by HTTP status code, cache status and model. */
  readonly requests: Counter<'status' | 'cache' | 'model'>;
  /** Whole request, as the client saw it. */
  readonly requestDuration: Histogram<'cache'>;
  readonly upstreamDuration: Histogram<'provider'>;
  readonly embedDuration: Histogram<never>;
  readonly indexSearchDuration: Histogram<never>;
  /** type: "prompt" | "completion". */
  readonly tokensSpent: Counter<'model' | 'type'>;
  readonly tokensSaved: Counter<'model'>;
  readonly costUsd: Counter<'model'>;
  readonly savedUsd: Counter<'model'>;
  readonly guardRejections: Counter<'reason'>;
  /** Guardrail decisions: input screening and output moderation, per check and action. */
  readonly guardrailDecisions: Counter<'stage' | 'check' | 'action'>;
  /** Requests refused before the cache step, by status and error code. */
  readonly rejectedRequests: Counter<'status' | 'code'>;
  /** Upstream prompt tokens minus our tiktoken estimate, per answered miss (tokens). */
  readonly promptTokenEstimateError: Histogram<never>;
  readonly upstreamErrors: Counter<'provider' | 'status'>;
  readonly cacheEntries: Gauge<never>;
  readonly indexSize: Gauge<never>;
  /** (exact + semantic hits) / (hits + misses) since start; bypasses are not cache lookups. */
  readonly hitRatio: Gauge<never>;
  /** Failed store operations, by kind (read, write, connect); see src/store/store-health.ts. */
  readonly storeFailures: Counter<'op'>;
  /** 1 while the store is degraded (some kind of operation failing), else 0. */
  readonly storeDegraded: Gauge<never>;
  /** Chat requests served without the cache (x-cache-status: bypass) because the store was unreachable. */
  readonly storeBypassedRequests: Counter<never>;
  /** Where the sourced gauges read from at scrape time; the integrator sets them. */
  readonly sources: { cacheEntries?: GaugeSource; indexSize?: GaugeSource; storeDegraded?: GaugeSource };
  /** The model label to use for a client-supplied model name (caps label cardinality). */
  modelLabel(model: string): string;
  /** One finished request: the request counter, latency, tokens and money in one call. */
  observeRequest(o: RequestObservation): void;
  /** The exposition text and its content type, for the /metrics handler. */
  render(): Promise<{ contentType: string; body: string }>;
}

function positive(n: number | undefined): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;
}

export function createMetrics(options: MetricsOptions = {}): GatewayMetrics {
  const registry = new Registry();
  const p = options.prefix ?? 'gateway_';
  const registers = [registry];
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: p });

  const sources: GatewayMetrics['sources'] = {};
  const seenModels = new Set<string>();
  const lookups = { hits: 0, misses: 0 };

  const modelLabel = (model: string): string => {
    const name = model || 'unknown';
    if (seenModels.has(name)) return name;
    if (seenModels.size >= MAX_MODEL_LABELS) return OTHER_MODEL_LABEL;
    seenModels.add(name);
    return name;
  };

  const latency = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new Histogram<L>({ name: p + name, help, labelNames, buckets: [...LATENCY_BUCKETS_SECONDS], registers });

  // A gauge read from a source at scrape time; a failing source reports nothing rather than
  // failing the whole scrape.
  const sourcedGauge = (name: string, help: string, read: () => GaugeSource | undefined) =>
    new Gauge({
      name: p + name,
      help,
      registers,
      async collect() {
        const source = read();
        if (!source) return;
        try {
          const v = await source();
          if (Number.isFinite(v)) this.set(v);
        } catch {
          this.reset();
        }
      },
    });

  const requests = new Counter({
    name: p + 'requests_total',
    help: 'Chat requests answered, by HTTP status code, cache status and model.',
    labelNames: ['status', 'cache', 'model'] as const,
    registers,
  });
  const tokensSpent = new Counter({
    name: p + 'tokens_spent_total',
    help: 'Tokens paid to upstreams, by model and type (prompt or completion).',
    labelNames: ['model', 'type'] as const,
    registers,
  });
  const tokensSaved = new Counter({
    name: p + 'tokens_saved_total',
    help: 'Tokens that cache hits did not pay again (what the original call used), by model.',
    labelNames: ['model'] as const,
    registers,
  });
  const costUsd = new Counter({
    name: p + 'cost_usd_total',
    help: 'US dollars paid to upstreams, by model, from the price table.',
    labelNames: ['model'] as const,
    registers,
  });
  const savedUsd = new Counter({
    name: p + 'saved_usd_total',
    help: 'US dollars cache hits saved (what the original call cost), by model.',
    labelNames: ['model'] as const,
    registers,
  });

  const metrics: GatewayMetrics = {
    registry,
    sources,
    requests,
    requestDuration: latency('request_duration_seconds', 'Whole chat request latency in seconds, by cache status.', ['cache']),
    upstreamDuration: latency('upstream_duration_seconds', 'Upstream call latency in seconds, by provider.', ['provider']),
    embedDuration: latency<never>('embed_duration_seconds', 'Prompt embedding latency in seconds.', []),
    indexSearchDuration: latency<never>('index_search_duration_seconds', 'Vector index search latency in seconds.', []),
    tokensSpent,
    tokensSaved,
    costUsd,
    savedUsd,
    rejectedRequests: new Counter({
      name: p + 'rejected_requests_total',
      help: 'Chat requests refused before the cache step (bad input, keys, limits, blocked data), by status and error code.',
      labelNames: ['status', 'code'] as const,
      registers,
    }),
    promptTokenEstimateError: new Histogram({
      name: p + 'prompt_token_estimate_error_tokens',
      help: "Upstream-reported prompt tokens minus the gateway's tiktoken estimate, per answered miss.",
      buckets: [-100, -20, -5, -1, 0, 1, 5, 20, 100],
      registers,
    }),
    guardrailDecisions: new Counter({
      name: p + 'guardrail_decisions_total',
      help: 'Guardrail decisions by stage (input, output), check (injection, deny, pii, length, moderation) and action (log, flag, block, mask)',
      labelNames: ['stage', 'check', 'action'],
      registers,
    }),
    guardRejections: new Counter({
      name: p + 'guard_rejections_total',
      help: 'Semantic hits the guard refused, by reason kind.',
      labelNames: ['reason'] as const,
      registers,
    }),
    upstreamErrors: new Counter({
      name: p + 'upstream_errors_total',
      help: 'Failed upstream calls, by provider and HTTP status ("network" or "timeout" when there was none).',
      labelNames: ['provider', 'status'] as const,
      registers,
    }),
    cacheEntries: sourcedGauge('cache_entries', 'Entries in the response cache.', () => sources.cacheEntries),
    indexSize: sourcedGauge('index_size', 'Vectors in the semantic index.', () => sources.indexSize),
    storeFailures: new Counter({
      name: p + 'store_failures_total',
      help: 'Failed store operations (disk full, Redis down...), by kind: read, write or connect.',
      labelNames: ['op'] as const,
      registers,
    }),
    storeBypassedRequests: new Counter({
      name: p + 'store_bypassed_requests_total',
      help: 'Chat requests served without the cache (x-cache-status: bypass) because the store was unreachable.',
      registers,
    }),
    storeDegraded: sourcedGauge('store_degraded', '1 while store operations are failing (requests are then served uncached), else 0.', () => sources.storeDegraded),
    hitRatio: new Gauge({
      name: p + 'cache_hit_ratio',
      help: 'Exact plus semantic hits over hits plus misses since start (bypasses excluded).',
      registers,
      collect() {
        const lookedUp = lookups.hits + lookups.misses;
        this.set(lookedUp === 0 ? 0 : lookups.hits / lookedUp);
      },
    }),
    modelLabel,
    observeRequest(o: RequestObservation): void {
      const model = modelLabel(o.model);
      requests.inc({ status: String(o.status), cache: o.cacheStatus, model });
      metrics.requestDuration.observe({ cache: o.cacheStatus }, positive(o.durationSeconds));
      if (o.cacheStatus === 'hit' || o.cacheStatus === 'semantic-hit') lookups.hits++;
      else if (o.cacheStatus === 'miss') lookups.misses++;
      // inc(0) still creates the series; skip zeros so a hit-only model shows no spend series.
      const add = (c: Counter<string>, labels: Record<string, string>, v: number | undefined) => {
        const n = positive(v);
        if (n > 0) c.inc(labels, n);
      };
      add(tokensSpent, { model, type: 'prompt' }, o.promptTokens);
      add(tokensSpent, { model, type: 'completion' }, o.completionTokens);
      add(tokensSaved, { model }, o.savedTokens);
      add(costUsd, { model }, o.costUsd);
      add(savedUsd, { model }, o.savedUsd);
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
  return metrics;
}
