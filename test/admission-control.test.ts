import { expect } from 'chai';
import type { Gateway } from '../src/server.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { chat, startTestGateway } from './helpers/gateway.js';

const ask = (content: string) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });
const TOPICS = ['volcanoes erupt', 'tides rise and fall', 'bees make honey', 'glaciers move', 'rainbows form', 'bread dough rises', 'magnets attract iron'];

describe('admission control (MAX_INFLIGHT, MAX_QUEUE, QUEUE_TIMEOUT_MS)', () => {
  let upstream: FakeOpenAI;

  before(async () => {
    upstream = await new FakeOpenAI().start();
  });
  after(async () => {
    await upstream?.stop();
  });
  beforeEach(() => upstream.reset());

  async function withGateway(env: Record<string, string>, fn: (gw: Gateway) => Promise<void>): Promise<void> {
    const gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, ...env });
    try {
      await fn(gw);
    } finally {
      await gw.close();
    }
  }

  it('serves MAX_INFLIGHT at once plus MAX_QUEUE waiting, refuses the rest with 503 + Retry-After in OpenAI shape; /health and /metrics still answer', async () => {
    upstream.behavior = { latencyMs: 1_000 };
    await withGateway({ MAX_INFLIGHT: '2', MAX_QUEUE: '1', QUEUE_TIMEOUT_MS: '30000' }, async (gw) => {
      const pending = TOPICS.slice(0, 5).map((t) => chat(gw, ask(`Explain why ${t}`)));
      // While all slots are taken, the watch routes are never refused.
      await new Promise((r) => setTimeout(r, 300));
      expect((await fetch(`${gw.url}/health`)).status).to.equal(200);
      expect((await fetch(`${gw.url}/metrics`)).status).to.equal(200);
      const answers = await Promise.all(pending);
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).to.deep.equal([200, 200, 200, 503, 503]);
      for (const refused of answers.filter((a) => a.status === 503)) {
        expect(refused.headers.get('retry-after')).to.equal('1');
        expect(refused.json.error.code).to.equal('server_overloaded');
        expect(refused.json.error.type).to.equal('server_error');
      }
      expect(upstream.calls).to.have.length(3);
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      expect(metrics).to.match(/code="server_overloaded"[^\n]* 2/);
    });
  });

  it('refuses a request that waited QUEUE_TIMEOUT_MS without a slot, and counts the pass-through as in flight', async () => {
    upstream.behavior = { latencyMs: 1_500 };
    await withGateway({ MAX_INFLIGHT: '1', MAX_QUEUE: '5', QUEUE_TIMEOUT_MS: '200' }, async (gw) => {
      let slowDone = false;
      const slow = fetch(`${gw.url}/v1/slowpass`)
        .then((r) => r.text())
        .then(() => (slowDone = true)); // holds the only slot
      await new Promise((r) => setTimeout(r, 200));
      const waited = await chat(gw, ask('Explain why volcanoes erupt'));
      expect(waited.status).to.equal(503);
      expect(waited.json.error.code).to.equal('server_overloaded');
      expect(slowDone, 'refused at the queue timeout, while the slot was still taken').to.equal(false);
      await slow;
      const after = await chat(gw, ask('Explain why volcanoes erupt'));
      expect(after.status).to.equal(200);
    });
  });

  it('holds the slot of a miss whose client hung up until its upstream call is done, then frees it', async () => {
    upstream.behavior = { latencyMs: 2_000 };
    await withGateway({ MAX_INFLIGHT: '1', MAX_QUEUE: '0' }, async (gw) => {
      const hangUp = new AbortController();
      const gone = fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', signal: hangUp.signal, headers: { 'content-type': 'application/json' }, body: JSON.stringify(ask('Explain why tides rise and fall')) }).catch(() => 'aborted');
      while (upstream.calls.length === 0) await new Promise((r) => setTimeout(r, 20));
      hangUp.abort();
      expect(await gone).to.equal('aborted');
      // The miss is still being forwarded (and will be stored): it still counts.
      const during = await chat(gw, ask('Explain why bees make honey'));
      expect(during.status).to.equal(503);
      let after = during;
      for (let i = 0; i < 100 && after.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        upstream.behavior = {};
        after = await chat(gw, ask('Explain why glaciers move'));
      }
      expect(after.status).to.equal(200);
      // The hung-up miss was completed and stored: the same question is now a hit.
      const again = await chat(gw, ask('Explain why tides rise and fall'));
      expect(again.headers.get('x-cache-status')).to.equal('hit');
    });
  });

  it('gives the place of a waiter that gives up to the next one', async () => {
    upstream.behavior = { latencyMs: 800 };
    await withGateway({ MAX_INFLIGHT: '1', MAX_QUEUE: '1', QUEUE_TIMEOUT_MS: '30000' }, async (gw) => {
      const first = chat(gw, ask('Explain why volcanoes erupt'));
      while (upstream.calls.length === 0) await new Promise((r) => setTimeout(r, 20));
      const giveUp = new AbortController();
      const waiter = fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', signal: giveUp.signal, headers: { 'content-type': 'application/json' }, body: JSON.stringify(ask('Explain why bees make honey')) }).catch(() => 'aborted');
      await new Promise((r) => setTimeout(r, 100));
      giveUp.abort();
      expect(await waiter).to.equal('aborted');
      await new Promise((r) => setTimeout(r, 50));
      // The queue's one place is free again: this one waits instead of being refused.
      const next = await chat(gw, ask('Explain why glaciers move'));
      expect(next.status).to.equal(200);
      expect((await first).status).to.equal(200);
      expect(upstream.calls.map((c) => (c.body.messages as Array<{ content: string }>)[0]!.content)).to.deep.equal(['Explain why volcanoes erupt', 'Explain why glaciers move']);
    });
  });
});
