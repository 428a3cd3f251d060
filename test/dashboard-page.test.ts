import { expect } from 'chai';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_KEY_STORAGE, dashboardPage } from '../src/observability/dashboard/page.js';
import { StatsCollector, type StatsSnapshot } from '../src/observability/stats.js';
import { emptyCounters, type UsageTotals } from '../src/accounting/totals.js';
import { chromiumAvailable, launchChromium, SCREENSHOT_DIR } from './helpers/browser.js';

const ADMIN_KEY = 'test-admin-key';
const SCREENSHOT = path.resolve(SCREENSHOT_DIR, 'dashboard.png');
const NOW = Date.parse('2026-03-01T12:30:00.000Z');
const XSS_MODEL = '<img src=x id=injected onerror="document.title=\'pwned\'">';

/** A realistic snapshot made by the real collector: 30 minutes of mixed traffic over 3 models. */
function fixture(extraRequests = 0, logPrompts = false): StatsSnapshot {
  const stats = new StatsCollector({ now: () => NOW, logPrompts, recentLimit: 25, threshold: 0.8 });
  const models = ['gpt-4o-mini', 'gpt-4o', 'claude-3-5-haiku'];
  let n = 0;
  for (let minute = 0; minute < 30; minute++) {
    if (minute % 7 === 3) continue; // quiet minutes leave gaps in the series
    const perMinute = 4 + (minute % 5);
    for (let i = 0; i < perMinute; i++) {
      n++;
      const model = models[n % 3]!;
      const kind = n % 10 < 3 ? 'miss' : n % 10 < 7 ? 'hit' : n % 10 < 9 ? 'semantic-hit' : 'bypass';
      const paid = kind === 'miss' || kind === 'bypass';
      stats.record({
        requestId: `req-${String(n).padStart(4, '0')}`,
        time: NOW - (30 - minute) * 60_000 + i * 1000,
        tenant: n % 4 === 0 ? 'a1b2c3d4' : 'e5f6a7b8',
        model,
        cacheStatus: kind,
        status: n % 37 === 0 ? 502 : 200,
        similarity: kind === 'semantic-hit' ? 0.9 + (n % 9) / 100 : undefined,
        latencyMs: paid ? 400 + ((n * 37) % 900) : 0.4 + (n % 13) / 2,
        promptTokens: paid ? 120 + (n % 50) : 0,
        completionTokens: paid ? 80 + (n % 30) : 0,
        savedTokens: paid ? 0 : 200 + (n % 40),
        costMicroUsd: paid ? 900 + n : 0,
        savedMicroUsd: paid ? 0 : 1100 + n,
        prompt: `question number ${n}`,
      });
    }
  }
  for (let i = 0; i < extraRequests; i++) {
    stats.record({ requestId: `extra-${i}`, tenant: 'e5f6a7b8', model: 'gpt-4o', cacheStatus: 'hit', status: 200, latencyMs: 1, savedMicroUsd: 5000, savedTokens: 300 });
  }
  for (let i = 0; i < 7; i++) stats.recordGuardDecisions([{ stage: 'input', check: 'injection', action: i < 5 ? 'block' : 'flag' }]);
  stats.recordGuardDecisions([{ stage: 'output', check: 'pii', action: 'mask' }, { stage: 'output', check: 'deny', action: 'block' }]);
  // Cache quality: two error-bound namespaces (one within its bound, one above it) and threshold-mode lookups.
  const q = stats.cacheQuality;
  for (let i = 0; i < 300; i++) {
    const verify = i % 10 === 0 ? (i % 150 === 0 ? 'different' : 'equivalent') : undefined;
    q.boundLookup('team-a', 0.02, i % 3 === 0 ? 'semantic-hit' : i % 3 === 1 ? 'hit' : 'miss', verify, verify ? 1250 + i : 0, i % 11 === 0);
  }
  for (let i = 0; i < 60; i++) q.boundLookup('team-b', 0.1, i % 2 ? 'semantic-hit' : 'miss', i % 6 === 0 ? 'equivalent' : undefined, i % 6 === 0 ? 900 : 0);
  for (let i = 0; i < 4; i++) q.feedback('team-b', i !== 0, false);
  for (let i = 0; i < 120; i++) q.thresholdLookup(i % 4 === 0 ? 'semantic-hit' : i % 9 === 0 ? 'exact' : 'miss', i % 4 === 0 ? 0.8 + (i % 20) / 100 : i % 13 === 0 ? undefined : 0.3 + (i % 45) / 100);
  for (const [reason, n] of [['number-mismatch', 7], ['roles-swapped', 3], ['entity-mismatch', 5]] as const) for (let i = 0; i < n; i++) q.rejection(reason);
  stats.record({ requestId: 'req-xss', tenant: 'e5f6a7b8', model: XSS_MODEL, cacheStatus: 'miss', status: 200, latencyMs: 812, costMicroUsd: 2500, promptTokens: 10, completionTokens: 5 });
  return stats.snapshot();
}

const emptyTotals = (): UsageTotals => ({ ...emptyCounters(), costUsd: 0, savedUsd: 0 });

// The page's formats (see page.ts), written out again here so a change to either is caught.
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtRatio = (r: number | null) => (r === null ? '–' : `${(r * 100).toFixed(1)}%`);
const fmtUsd = (x: number) =>
  !x ? '$0.00' : Math.abs(x) >= 1 ? `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}` : `$${Number(x.toPrecision(4))}`;
/** A money column: one number of decimals for all its amounts (3 significant digits of the smallest), '–' for 0. */
const usdColumn = (values: number[]) => {
  let d = 2;
  for (const x of values) if (x > 0 && x < 1) d = Math.max(d, Math.min(8, 2 - Math.floor(Math.log10(x))));
  return (x: number) => (!x ? '–' : `$${x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })}`);
};
const fmtMs = (ms: number | null) => (ms === null ? '–' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms >= 10 ? ms.toFixed(0) : ms.toFixed(1)} ms`);

interface ServerState {
  snapshot: StatsSnapshot;
  requireKey: boolean;
  authHeaders: Array<string | undefined>;
  otherPaths: string[];
}

async function startServer(state: ServerState): Promise<{ origin: string; close: () => Promise<void> }> {
  const page = dashboardPage({ refreshMs: 250 });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/dashboard') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page);
      return;
    }
    if (url.pathname === '/v1/gateway/stats') {
      state.authHeaders.push(req.headers.authorization);
      if (state.requireKey && req.headers.authorization !== `Bearer ${ADMIN_KEY}`) {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
        res.end(JSON.stringify({ error: { message: 'admin key required' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(state.snapshot));
      return;
    }
    state.otherPaths.push(url.pathname);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function headline(page: Page, id: string): Promise<{ text: string; value: string | null }> {
  const el = page.locator(`#${id}`);
  return { text: (await el.textContent()) ?? '', value: await el.getAttribute('data-value') };
}

describe('dashboard page in headless Chromium', function () {
  let browser: Browser | undefined;
  let server: { origin: string; close: () => Promise<void> } | undefined;
  let state: ServerState;
  const foreignRequests: string[] = [];

  before(async function () {
    if (!chromiumAvailable()) {
      console.log('      (/usr/bin/chromium is absent: skipping the dashboard browser tests; apt-get install -y chromium)');
      this.skip();
    }
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  beforeEach(async () => {
    state = { snapshot: fixture(), requireKey: false, authHeaders: [], otherPaths: [] };
    server = await startServer(state);
    foreignRequests.length = 0;
  });
  afterEach(async () => {
    await server?.close();
  });

  async function openPage(): Promise<Page> {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    page.on('request', (r) => {
      if (!r.url().startsWith(server!.origin) && !r.url().startsWith('data:')) foreignRequests.push(r.url());
    });
    return page;
  }

  it('shows the numbers of /v1/gateway/stats, the charts and tables, and loads nothing else', async () => {
    const page = await openPage();
    try {
      await page.goto(`${server!.origin}/dashboard`);
      await page.waitForSelector('html[data-state="ready"]');
      const s = state.snapshot;
      const t = s.totals;
      expect(t.requests).to.be.greaterThan(100); // the fixture is not trivially empty

      const expected: Record<string, [number | null, string]> = {
        'total-requests': [t.requests, fmtInt(t.requests)],
        'hit-ratio': [t.hitRatio, fmtRatio(t.hitRatio)],
        'exact-hits': [t.hits, fmtInt(t.hits)],
        'semantic-hits': [t.semanticHits, fmtInt(t.semanticHits)],
        misses: [t.misses, fmtInt(t.misses)],
        errors: [t.errors, fmtInt(t.errors)],
        'saved-usd': [t.savedUsd, fmtUsd(t.savedUsd)],
        'saved-tokens': [t.savedTokens, fmtInt(t.savedTokens)],
        'cost-usd': [t.costUsd, fmtUsd(t.costUsd)],
        'spent-tokens': [t.promptTokens + t.completionTokens, fmtInt(t.promptTokens + t.completionTokens)],
        'p50-ms': [t.p50Ms, fmtMs(t.p50Ms)],
        'p95-ms': [t.p95Ms, fmtMs(t.p95Ms)],
      };
      for (const [id, [raw, text]] of Object.entries(expected)) {
        const shown = await headline(page, id);
        expect(shown.value, `#${id} data-value`).to.equal(raw === null ? '' : String(raw));
        expect(shown.text, `#${id} text`).to.equal(text);
      }
      // Spot-check the formatting itself against hand-written strings.
      expect((await headline(page, 'hit-ratio')).text).to.match(/^\d{1,3}\.\d%$/);
      expect((await headline(page, 'saved-usd')).text).to.match(/^\$\d/);

      // Charts: one dot per minute with data, and lines between consecutive minutes.
      const withRatio = s.series.filter((p) => p.hitRatio !== null).length;
      expect(await page.locator('#chart-hit-ratio circle').count()).to.equal(withRatio);
      expect(await page.locator('#chart-hit-ratio polyline').count()).to.be.greaterThan(1); // gaps split the line
      expect(await page.locator('#chart-latency circle').count()).to.equal(2 * s.series.length);
      expect(await page.locator('#chart-savings polyline').count()).to.equal(2);
      // No lifetime totals in this snapshot: no lifetime cards.
      expect(await page.locator('#lifetime-cards').isHidden()).to.equal(true);

      const topRows = await page.locator('#top-models tbody tr').evaluateAll((rows) =>
        rows.map((r) => Array.from(r.querySelectorAll('td')).map((td) => td.textContent)),
      );
      expect(topRows.map((r) => r[0])).to.deep.equal(s.topModels.map((m) => m.model));
      expect(topRows.map((r) => r[1])).to.deep.equal(s.topModels.map((m) => fmtInt(m.requests)));
      const savedColumn = usdColumn(s.topModels.map((m) => m.savedUsd));
      expect(topRows.map((r) => r[3])).to.deep.equal(s.topModels.map((m) => savedColumn(m.savedUsd)));
      // Guardrail decisions: one row per stage/check/action, most first.
      const guardRows = await page.locator('#guardrails tbody tr').evaluateAll((rows) => rows.map((r) => Array.from(r.querySelectorAll('td')).map((td) => td.textContent)));
      expect(s.guardrails.length).to.equal(4);
      expect(guardRows).to.deep.equal(s.guardrails.map((g) => [g.stage, g.check, g.action, fmtInt(g.count)]));
      expect(guardRows[0]).to.deep.equal(['input', 'injection', 'block', '5']);
      // Every amount of a money column has the same number of decimals (the fixture mixes $0.0025 and $0.001255).
      const recentRows = await page.locator('#recent tbody tr').evaluateAll((rows) => rows.map((r) => Array.from(r.querySelectorAll('td')).map((td) => td.textContent ?? '')));
      for (const col of [8, 9]) {
        const amounts = recentRows.map((r) => r[col]!).filter((t) => t !== '–');
        expect(amounts.length, `column ${col}`).to.be.greaterThan(3);
        expect(new Set(amounts.map((t) => t.split('.')[1]!.length)).size, amounts.join(' ')).to.equal(1);
      }

      const recentIds = await page.locator('#recent tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-request-id')));
      expect(recentIds).to.deep.equal(s.recent.map((r) => r.requestId));
      // Client-chosen strings are shown as text, never parsed as HTML.
      expect(await page.locator('#recent tbody tr[data-request-id="req-xss"] td:nth-child(4)').textContent()).to.equal(XSS_MODEL);
      expect(await page.locator('#injected').count()).to.equal(0);
      expect(await page.title()).to.not.equal('pwned');
      // LOG_PROMPTS is off in this fixture: no prompt column.
      expect(await page.locator('#recent th.prompt-col').isHidden()).to.equal(true);
      expect(await page.content()).to.not.contain('question number');

      expect(foreignRequests).to.deep.equal([]);
      expect(state.otherPaths).to.deep.equal([]);
      expect(state.authHeaders[0]).to.equal(undefined);

      mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    } finally {
      await page.context().close();
    }
  });

  it('plots observed error against the bound per namespace, verification calls and cost, and the nearest-score histogram with rejections', async () => {
    const page = await openPage();
    try {
      await page.goto(`${server!.origin}/dashboard`);
      await page.waitForSelector('html[data-state="ready"]');
      const c = state.snapshot.cache;
      expect(c.namespaces.map((n) => n.namespace)).to.deep.equal(['team-a', 'team-b']);
      expect(await page.locator('#bound-panel').isVisible()).to.equal(true);
      const calls = c.namespaces.reduce((a, n) => a + n.verification.calls, 0);
      const cost = c.namespaces.reduce((a, n) => a + n.verification.costUsd, 0);
      expect(calls).to.equal(30 + 10);
      expect(await headline(page, 'verify-calls')).to.deep.equal({ text: fmtInt(calls), value: String(calls) });
      expect(await headline(page, 'verify-cost')).to.deep.equal({ text: fmtUsd(cost), value: String(cost) });
      const skipped = c.namespaces.reduce((x, n) => x + n.verification.skipped, 0);
      expect(skipped).to.equal(28); // team-a: every 11th of 300 lookups
      expect(await headline(page, 'verify-skipped')).to.deep.equal({ text: fmtInt(skipped), value: String(skipped) });
      const rows = await page.locator('#bound-table tbody tr').evaluateAll((trs) => trs.map((r) => Array.from(r.querySelectorAll('td')).map((td) => td.textContent ?? '')));
      const pct = (r: number | null) => (r === null ? '–' : `${(r * 100).toFixed(2)}%`);
      expect(rows.map((r) => r.slice(0, 6))).to.deep.equal(
        c.namespaces.map((n) => [n.namespace, pct(n.maxErrorRate), pct(n.observedErrorRate), fmtInt(n.observations), fmtRatio(n.hitRatio), fmtInt(n.verification.calls)]),
      );
      // team-a: 2 wrong of 30 verified (6.67%) is above its 2% bound; team-b: 1 wrong (feedback) of 10 + 4 checks, within 10%.
      const a = c.namespaces[0]!;
      const b = c.namespaces[1]!;
      expect(a.observedErrorRate).to.be.closeTo(2 / 30, 1e-12);
      expect(b).to.deep.include({ observations: 14, wrong: 1 });
      expect(await page.locator('#bound-table tbody tr[data-namespace="team-a"] td.over').count()).to.equal(1);
      expect(await page.locator('#bound-table tbody tr[data-namespace="team-b"] td.over').count()).to.equal(0);
      // The chart: one bar of the observed rate and one line at the bound per namespace, red above it.
      for (const n of c.namespaces) {
        const bar = page.locator(`#chart-bound rect.observed[data-namespace="${n.namespace}"]`);
        expect(await bar.getAttribute('data-value')).to.equal(String(n.observedErrorRate));
        expect(await bar.getAttribute('fill')).to.equal(n.observedErrorRate! > n.maxErrorRate! ? 'var(--bad)' : 'var(--sem)');
        expect(await page.locator(`#chart-bound line.bound[data-namespace="${n.namespace}"]`).getAttribute('data-value')).to.equal(String(n.maxErrorRate));
      }
      // A bar above its bound line reaches higher on the page (smaller y), and the reverse.
      // Read in one task: the page redraws on every refresh, and a detached element has no box.
      const tops = await page.evaluate(() =>
        ['team-a', 'team-b'].map((ns) =>
          ['rect.observed', 'line.bound'].map((kind) => (document.querySelector(`#chart-bound ${kind}[data-namespace="${ns}"]`) as SVGGraphicsElement).getBBox().y),
        ),
      );
      expect(tops[0]![0]).to.be.below(tops[0]![1]!);
      expect(tops[1]![0]).to.be.above(tops[1]![1]!);
      expect(tops[1]![1]).to.be.above(0);

      // Threshold mode: one rect per non-empty bin and kind with its count, the threshold line, rejections by reason.
      const t = c.threshold;
      expect(await page.locator('#threshold-panel').isVisible()).to.equal(true);
      const rects = await page.locator('#chart-scores rect').evaluateAll((els) => els.map((e) => [e.getAttribute('data-kind'), Number(e.getAttribute('data-bin')), Number(e.getAttribute('data-count'))] as const));
      const expected = [
        ...t.hitScores.flatMap((n, i) => (n ? [['hit', i, n] as const] : [])),
        ...t.missScores.flatMap((n, i) => (n ? [['miss', i, n] as const] : [])),
      ];
      expect(rects).to.deep.equal(expected);
      expect(t.hitScores.slice(0, 16).every((n) => n === 0)).to.equal(true); // the fixture's hits score 0.80-0.99
      expect(t.threshold).to.equal(0.8);
      expect(await page.locator('#chart-scores line.threshold').getAttribute('data-value')).to.equal('0.8');
      const reasons = await page.locator('#rejections tbody tr').evaluateAll((trs) => trs.map((r) => Array.from(r.querySelectorAll('td')).map((td) => td.textContent ?? '')));
      expect(reasons).to.deep.equal([['number-mismatch', '7'], ['entity-mismatch', '5'], ['roles-swapped', '3']]);
      expect(await page.locator('#threshold-note').textContent()).to.contain(`${fmtInt(t.semanticHits)} semantic hits`);
    } finally {
      await page.context().close();
    }
  });

  it('hides the cache-quality panels while there is nothing to show', async () => {
    const empty = new StatsCollector({ now: () => NOW }).snapshot();
    state.snapshot = { ...fixture(), cache: empty.cache };
    const page = await openPage();
    try {
      await page.goto(`${server!.origin}/dashboard`);
      await page.waitForSelector('html[data-state="ready"]');
      expect(await page.locator('#bound-panel').isHidden()).to.equal(true);
      expect(await page.locator('#threshold-panel').isHidden()).to.equal(true);
    } finally {
      await page.context().close();
    }
  });

  it('says what the window covers, shows the persisted lifetime figures, and draws round, unclipped axis ticks', async () => {
    const lifetime = { ...emptyTotals(), requests: 4151, hits: 1500, semanticHits: 500, misses: 2000, savedUsd: 12.5, savedMicroUsd: 12_500_000, costUsd: 3.25, costMicroUsd: 3_250_000, savedTokens: 987_654 };
    // Started 20 minutes before NOW: the 24 h window really covers only the time since.
    state.snapshot = { ...fixture(), startedAt: new Date(NOW - 20 * 60_000).toISOString(), lifetime };
    const page = await openPage();
    try {
      await page.goto(`${server!.origin}/dashboard`);
      await page.waitForSelector('html[data-state="ready"]');
      expect(await page.locator('#window-title').textContent()).to.match(/^Since the gateway started at \d\d:\d\d/);
      expect(await page.locator('#lifetime-cards').isVisible()).to.equal(true);
      expect((await headline(page, 'lifetime-requests')).text).to.equal('4,151');
      expect((await headline(page, 'lifetime-hit-ratio')).value).to.equal(String(2000 / 4000));
      expect((await headline(page, 'lifetime-saved-usd')).text).to.equal('$12.50');
      expect((await headline(page, 'lifetime-cost-usd')).text).to.equal('$3.25');
      expect((await headline(page, 'lifetime-saved-tokens')).text).to.equal('987,654');

      // The savings chart's y labels: 0 and equal round steps (1, 2, 2.5 or 5 x 10^k), one format,
      // the top one at or above the largest cumulative amount, and none clipped at the left edge.
      const labels = await page.locator('#chart-savings text').evaluateAll((els) =>
        els.filter((e) => e.getAttribute('text-anchor') === 'end' && (e.textContent ?? '').startsWith('$')).map((e) => ({ text: e.textContent ?? '', left: (e as SVGTextElement).getBBox().x })),
      );
      expect(labels.length).to.be.within(3, 7);
      const values = labels.map((l) => Number(l.text.slice(1).replace(/,/g, '')));
      expect(values[0]).to.equal(0);
      const step = values[1]! - values[0]!;
      const mantissa = step / 10 ** Math.floor(Math.log10(step));
      expect([1, 2, 2.5, 5].some((m) => Math.abs(mantissa - m) < 1e-6), `step ${step}`).to.equal(true);
      values.forEach((v, i) => expect(v).to.be.closeTo(i * step, step * 1e-6));
      const cumulative = Math.max(state.snapshot.series.reduce((a, p) => a + p.savedUsd, 0), state.snapshot.series.reduce((a, p) => a + p.costUsd, 0));
      expect(values.at(-1)!).to.be.at.least(cumulative - 1e-9);
      expect(new Set(labels.map((l) => l.text.split('.')[1]!.length)).size).to.equal(1);
      for (const l of labels) expect(l.left, l.text).to.be.at.least(0);

      // A gateway up for more than the window: the plain 24 h label.
      state.snapshot = { ...state.snapshot, startedAt: new Date(NOW - 3 * 86_400_000).toISOString() };
      await page.waitForFunction(() => document.getElementById('window-title')?.textContent === 'Last 24 h', undefined, { timeout: 15_000 });
    } finally {
      await page.context().close();
    }
  });

  it('refreshes on its own and shows the new numbers', async () => {
    const page = await openPage();
    try {
      await page.goto(`${server!.origin}/dashboard`);
      await page.waitForSelector('html[data-state="ready"]');
      const before = state.snapshot.totals.requests;
      state.snapshot = fixture(40);
      const after = state.snapshot.totals.requests;
      expect(after).to.equal(before + 40);
      await page.waitForFunction((n) => document.getElementById('total-requests')?.getAttribute('data-value') === String(n), after, {
        timeout: 15_000,
      });
      expect((await headline(page, 'saved-usd')).text).to.equal(fmtUsd(state.snapshot.totals.savedUsd));
      expect(Number(await page.getAttribute('html', 'data-refreshes'))).to.be.greaterThan(1);
    } finally {
      await page.context().close();
    }
  });

  it('asks for the admin key on 401, sends it as a Bearer token and keeps it for the session', async () => {
    state.requireKey = true;
    const page = await openPage();
    try {
      await page.goto(`${server!.origin}/dashboard`);
      await page.waitForSelector('html[data-state="auth"]');
      expect(await page.locator('#auth').isVisible()).to.equal(true);
      expect((await headline(page, 'total-requests')).text).to.equal('–');

      await page.fill('#admin-key', 'wrong-key');
      await page.click('#save-key');
      await page.waitForFunction(() => document.getElementById('auth-message')?.textContent === 'That key was not accepted.');
      expect(await page.evaluate((k) => sessionStorage.getItem(k), ADMIN_KEY_STORAGE)).to.equal(null);

      await page.fill('#admin-key', ADMIN_KEY);
      await page.click('#save-key');
      await page.waitForSelector('html[data-state="ready"]');
      expect(await page.locator('#auth').isVisible()).to.equal(false);
      expect((await headline(page, 'total-requests')).value).to.equal(String(state.snapshot.totals.requests));
      expect(state.authHeaders.slice(0, 3)).to.deep.equal([undefined, 'Bearer wrong-key', `Bearer ${ADMIN_KEY}`]);
      expect(await page.evaluate((k) => sessionStorage.getItem(k), ADMIN_KEY_STORAGE)).to.equal(ADMIN_KEY);

      // A reload in the same tab goes straight to the numbers with the stored key.
      const seen = state.authHeaders.length;
      await page.reload();
      await page.waitForSelector('html[data-state="ready"]');
      expect(state.authHeaders[seen]).to.equal(`Bearer ${ADMIN_KEY}`);
      expect(foreignRequests).to.deep.equal([]);
    } finally {
      await page.context().close();
    }
  });

  it('shows prompt text only when the stats carry it (LOG_PROMPTS=true)', async () => {
    state.snapshot = fixture(0, true);
    const page = await openPage();
    try {
      await page.goto(`${server!.origin}/dashboard`);
      await page.waitForSelector('html[data-state="ready"]');
      expect(await page.locator('#recent th.prompt-col').isVisible()).to.equal(true);
      const withPrompt = state.snapshot.recent.find((r) => r.prompt)!;
      const cellText = await page.locator(`#recent tbody tr[data-request-id="${withPrompt.requestId}"] td.prompt`).textContent();
      expect(cellText).to.equal(withPrompt.prompt);
    } finally {
      await page.context().close();
    }
  });

  it('says so when the stats cannot be loaded', async () => {
    await server!.close();
    const page = await openPage();
    try {
      await page.setContent(dashboardPage({ statsPath: '/nowhere', refreshMs: 60_000 }), { waitUntil: 'load' });
      await page.waitForSelector('html[data-state="error"]');
      expect(await page.locator('#status').textContent()).to.match(/^could not load stats/);
    } finally {
      await page.context().close();
      server = await startServer(state);
    }
  });
});
