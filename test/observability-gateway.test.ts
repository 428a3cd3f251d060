import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Gateway } from '../src/server.js';
import { chromiumAvailable, launchChromium, SCREENSHOT_DIR } from './helpers/browser.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { chat, parseSseBody, startTestGateway, tempDir, testConfig } from './helpers/gateway.js';

const ADMIN = 'admin-key-for-tests';
const auth = { authorization: `Bearer ${ADMIN}` };

/** A price table with round numbers so every header can be checked by hand. */
function writePrices(): string {
  const file = path.join(tempDir('prices-'), 'prices.json');
  // $2 per 1M input tokens, $10 per 1M output tokens.
  fs.writeFileSync(file, JSON.stringify({ 'test-model': { input: 2, output: 10 } }));
  return file;
}

/** Strict enough Prometheus text parser: every sample line is `name{labels} value`. */
function parseProm(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.e+-]+|[Nn]a[Nn]|\+Inf|-Inf)$/.exec(line); // prom-client prints "Nan"; Prometheus parses NaN case-insensitively
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return samples;
}

function sum(samples: Map<string, number>, prefix: string, labelFilter = ''): number {
  let total = 0;
  for (const [k, v] of samples) if (k.startsWith(prefix) && k.includes(labelFilter)) total += v;
  return total;
}

describe('accounting and observability through the gateway', () => {
  let upstream: FakeOpenAI;
  let gw: Gateway;
  const config = () => testConfig({ UPSTREAM_BASE_URL: upstream.url, ADMIN_API_KEY: ADMIN, PRICES_FILE: pricesFile });
  let pricesFile: string;
  let cfg: ReturnType<typeof config>;

  before(async () => {
    upstream = await new FakeOpenAI().start();
    pricesFile = writePrices();
    cfg = config();
    gw = await startTestGateway({}, cfg);
  });
  after(async () => {
    await gw?.close();
    await upstream?.stop();
  });
  beforeEach(() => upstream.reset());

  it('puts the exact cost on a miss and the exact saving on a hit', async () => {
    const body = { model: 'test-model', messages: [{ role: 'user', content: 'What is the speed of light in vacuum?' }] };
    const miss = await chat(gw, body);
    const u = miss.json.usage as { prompt_tokens: number; completion_tokens: number };
    const expected = (u.prompt_tokens * 2 + u.completion_tokens * 10) / 1e6;
    expect(Number(miss.headers.get('x-gateway-cost-usd'))).to.be.closeTo(expected, 1e-9);
    expect(miss.headers.get('x-gateway-saved-usd')).to.equal(null);

    const hit = await chat(gw, body);
    expect(hit.headers.get('x-cache-status')).to.equal('hit');
    expect(hit.headers.get('x-gateway-cost-usd')).to.equal('0.000000');
    expect(Number(hit.headers.get('x-gateway-saved-usd'))).to.be.closeTo(expected, 1e-9);
    expect(Number(hit.headers.get('x-gateway-saved-tokens'))).to.equal(u.prompt_tokens + u.completion_tokens);
  });

  it('prices a model it does not know at 0 rather than guessing', async () => {
    const r = await chat(gw, { model: 'some-unknown-model', messages: [{ role: 'user', content: 'Hello unknown' }] });
    expect(r.headers.get('x-gateway-cost-usd')).to.equal('0.000000');
  });

  it('sends the cost of a streamed miss as a trailer and strips usage the client did not ask for', async () => {
    const r = await chat(gw, { model: 'test-model', stream: true, messages: [{ role: 'user', content: 'Stream me a fact about owls' }] });
    expect(r.headers.get('trailer')).to.match(/x-gateway-cost-usd/i);
    expect(parseSseBody(r.text).some((e) => e !== '[DONE]' && e.usage)).to.equal(false);
  });

  it('exposes Prometheus metrics (admin only) whose counters move with requests', async () => {
    expect((await fetch(`${gw.url}/metrics`)).status).to.equal(401);
    const before = parseProm(await (await fetch(`${gw.url}/metrics`, { headers: auth })).text());
    const q = { model: 'test-model', messages: [{ role: 'user', content: 'Count me in the metrics please' }] };
    await chat(gw, q);
    await chat(gw, q);
    const res = await fetch(`${gw.url}/metrics`, { headers: auth });
    expect(res.headers.get('content-type')).to.match(/text\/plain/);
    const after = parseProm(await res.text());
    const delta = (name: string, label: string) => sum(after, name, label) - sum(before, name, label);
    expect(delta('gateway_requests_total', 'cache="miss"')).to.equal(1);
    expect(delta('gateway_requests_total', 'cache="hit"')).to.equal(1);
    expect(delta('gateway_saved_usd_total', 'model="test-model"')).to.be.greaterThan(0);
    expect(after.get('gateway_cache_entries')).to.equal(gw.cache.size);
    expect(sum(after, 'gateway_embed_duration_seconds_count')).to.be.greaterThan(0);
    // Requests refused before the cache step are counted too.
    await chat(gw, { model: 'test-model', messages: [] });
    const rejected = parseProm(await (await fetch(`${gw.url}/metrics`, { headers: auth })).text());
    expect(sum(rejected, 'gateway_rejected_requests_total', 'status="400"') - sum(after, 'gateway_rejected_requests_total', 'status="400"')).to.equal(1);
    // The miss's upstream usage was compared with our tiktoken estimate.
    expect(sum(after, 'gateway_prompt_token_estimate_error_tokens_count') - sum(before, 'gateway_prompt_token_estimate_error_tokens_count')).to.equal(1);
  });

  it('serves stats JSON whose totals match what was served, and keeps lifetime totals across a restart', async () => {
    const s1 = (await (await fetch(`${gw.url}/v1/gateway/stats`, { headers: auth })).json()) as any;
    expect(s1.totals.requests).to.equal(s1.totals.hits + s1.totals.semanticHits + s1.totals.misses + s1.totals.bypasses);
    expect(s1.lifetime.requests).to.equal(s1.totals.requests);
    expect(s1.lifetime.savedUsd).to.be.greaterThan(0);
    await gw.close();
    gw = await startTestGateway({}, cfg);
    const s2 = (await (await fetch(`${gw.url}/v1/gateway/stats`, { headers: auth })).json()) as any;
    expect(s2.totals.requests).to.equal(0); // the in-memory window starts afresh...
    expect(s2.lifetime.requests).to.equal(s1.lifetime.requests); // ...the persistent totals do not
    expect(s2.lifetime.savedMicroUsd).to.equal(s1.lifetime.savedMicroUsd);
    expect(s2.lifetime.costMicroUsd).to.equal(s1.lifetime.costMicroUsd);
  });

  it('shows on the dashboard, in a real browser, the numbers the stats endpoint reports', async function () {
    if (!chromiumAvailable()) {
      console.log('      (/usr/bin/chromium is absent: skipping the live dashboard browser test; apt-get install -y chromium)');
      this.skip();
    }
    const q = (content: string) => ({ model: 'test-model', messages: [{ role: 'user', content }] });
    for (const p of ['How tall is Mount Everest?', 'What is the capital of Japan?', 'Who painted the Mona Lisa?']) {
      await chat(gw, q(p));
      await chat(gw, q(p));
    }
    await chat(gw, q('how tall is mount everest'));
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      await page.goto(`${gw.url}/dashboard`);
      await page.waitForFunction(() => document.documentElement.dataset.state === 'auth');
      await page.fill('input[type="password"]', ADMIN);
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.documentElement.dataset.state === 'ready');
      const stats = (await (await fetch(`${gw.url}/v1/gateway/stats`, { headers: auth })).json()) as any;
      const shown = async (id: string) => Number(await page.getAttribute(`#${id}`, 'data-value'));
      expect(await shown('total-requests')).to.equal(stats.totals.requests);
      expect(await shown('exact-hits')).to.equal(stats.totals.hits);
      expect(await shown('misses')).to.equal(stats.totals.misses);
      expect(await shown('saved-usd')).to.be.closeTo(stats.totals.savedUsd, 1e-9);
      expect(stats.totals.hits).to.be.greaterThan(2);
      fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'dashboard-live.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
