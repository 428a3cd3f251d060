import type express from 'express';
import type { UsageTotalsStore } from '../accounting/totals.js';
import { requireAdmin } from '../http/admin-auth.js';
import { DASHBOARD_HTML } from './dashboard/page.js';
import type { GatewayMetrics } from './metrics.js';
import type { StatsCollector } from './stats.js';

/**
 * GET /metrics (Prometheus text), GET /v1/gateway/stats (JSON) and GET /dashboard. Metrics and
 * stats need ADMIN_API_KEY when it is set; the dashboard page itself holds no data (it asks for
 * the key when the stats endpoint answers 401).
 */
export function mountObservabilityRoutes(app: express.Express, deps: { adminApiKey?: string; metrics: GatewayMetrics; stats: StatsCollector; totals: UsageTotalsStore }): void {
  const admin = requireAdmin(deps.adminApiKey, { required: false });
  app.get('/metrics', admin, async (_req, res, next) => {
    try {
      const { contentType, body } = await deps.metrics.render();
      res.setHeader('content-type', contentType);
      res.send(body);
    } catch (err) {
      next(err);
    }
  });
  app.get('/v1/gateway/stats', admin, async (_req, res, next) => {
    try {
      await deps.totals.flush();
      res.setHeader('cache-control', 'no-store');
      res.json({ ...deps.stats.snapshot({ lifetime: await deps.totals.overall() }), byTenant: await deps.totals.tenants(), byModel: await deps.totals.models() });
    } catch (err) {
      next(err);
    }
  });
  app.get('/dashboard', (_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.setHeader('content-security-policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:");
    res.send(DASHBOARD_HTML);
  });
}
