import type { UsageTotalsStore } from '../accounting/totals.js';
import { messageText } from '../cache/request-key.js';
import type { RequestRecord } from '../http/chat-route.js';
import { CardinalityCap } from './cardinality-cap.js';
import type { GatewayMetrics } from './metrics.js';
import type { StatsCollector } from './stats.js';

/** Guard reasons look like "number-mismatch: 2 vs 3"; only the kind is a metric label. */
function reasonKind(reason: string): string {
  return reason.split(':')[0]!.trim().slice(0, 40) || 'other';
}

/**
 * Feeds one finished request to metrics, the stats window and the persistent totals. Each sees
 * only hashes and numbers, never keys or prompt text (prompts go to stats only with LOG_PROMPTS).
 */
/** Distinct models and tenants kept by name in stats and totals; the rest count as "other". */
export const MAX_MODELS_TRACKED = 100;
export const MAX_TENANTS_TRACKED = 1000;

export function createRequestObserver(parts: {
  metrics: GatewayMetrics;
  stats: StatsCollector;
  totals: UsageTotalsStore;
  logPrompts: boolean;
  /** Models named in the price table or the routing config: always kept by name. */
  isKnownModel?: (model: string) => boolean;
}) {
  const { metrics, stats, totals } = parts;
  const models = new CardinalityCap(MAX_MODELS_TRACKED, parts.isKnownModel);
  const tenants = new CardinalityCap(MAX_TENANTS_TRACKED);
  // Names a previous run persisted count against the caps, so a restart does not admit N more.
  totals
    .names()
    .then((n) => {
      models.seed(n.models);
      tenants.seed(n.tenants);
    })
    .catch(() => undefined); // a store failure is logged by the store; the caps still hold
  return (record: RequestRecord): void => {
    // Client-chosen names: bounded in number and length before they become keys anywhere. (Read
    // from the record field by field: a copy of the whole record per request was measurable.)
    const r = record;
    const model = models.label(record.model);
    const tenant = tenants.label(record.tenant);
    const a = r.accounting;
    // Tokens a request spent upstream; a hit spent none (its tokens count as saved).
    const spent = a && !a.savedTokens ? a : undefined;
    const lastTurn = r.request.messages[r.request.messages.length - 1];
    metrics.observeRequest({
      status: r.status,
      cacheStatus: r.cacheStatus,
      model,
      durationSeconds: r.totalMs / 1000,
      promptTokens: spent?.promptTokens,
      completionTokens: spent?.completionTokens,
      savedTokens: a?.savedTokens,
      costUsd: a ? a.costMicroUsd / 1e6 : undefined,
      savedUsd: a ? a.savedMicroUsd / 1e6 : undefined,
    });
    if (r.bypassReason === 'store_unavailable') metrics.storeBypassedRequests.inc();
    if (spent?.source === 'upstream') metrics.promptTokenEstimateError.observe(spent.promptTokens - spent.promptTokensEstimate);
    if (r.embedMs > 0) metrics.embedDuration.observe(r.embedMs / 1000);
    if (r.searchMs > 0) metrics.indexSearchDuration.observe(r.searchMs / 1000);
    if (r.upstreamMs !== undefined && r.provider) metrics.upstreamDuration.observe({ provider: r.provider }, r.upstreamMs / 1000);
    for (const g of r.guardRejections) metrics.guardRejections.inc({ reason: reasonKind(g.reason) });
    if (r.status >= 500 || (r.status === 429 && r.provider)) metrics.upstreamErrors.inc({ provider: r.provider ?? 'unknown', status: String(r.status) });

    stats.record({
      requestId: r.requestId,
      tenant,
      model,
      cacheStatus: r.cacheStatus,
      status: r.status,
      similarity: r.similarity,
      latencyMs: r.totalMs,
      promptTokens: spent?.promptTokens,
      completionTokens: spent?.completionTokens,
      savedTokens: a?.savedTokens,
      costMicroUsd: a?.costMicroUsd,
      savedMicroUsd: a?.savedMicroUsd,
      prompt: parts.logPrompts && lastTurn ? messageText(lastTurn) : undefined,
    });
    totals.record({
      tenant,
      model,
      cacheStatus: r.cacheStatus,
      error: r.status >= 400,
      promptTokens: spent?.promptTokens,
      completionTokens: spent?.completionTokens,
      savedTokens: a?.savedTokens,
      costMicroUsd: a?.costMicroUsd,
      savedMicroUsd: a?.savedMicroUsd,
    });
  };
}
