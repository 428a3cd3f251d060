import { expect } from 'chai';
import { CardinalityCap, MAX_LABEL_CHARS, OTHER_LABEL } from '../src/observability/cardinality-cap.js';
import { MAX_MODELS_TRACKED } from '../src/observability/request-observers.js';
import type { Gateway } from '../src/server.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { chat, startTestGateway } from './helpers/gateway.js';

describe('cardinality caps on client-chosen names (models, tenants)', () => {
  it('keeps the first N distinct values and known ones, folds the rest into "other", and bounds the length', () => {
    const cap = new CardinalityCap(3, (v) => v === 'gpt-4o');
    expect(['a', 'b', 'a', 'c', 'd', 'gpt-4o', 'b', 'e'].map((v) => cap.label(v))).to.deep.equal(['a', 'b', 'a', 'c', OTHER_LABEL, 'gpt-4o', 'b', OTHER_LABEL]);
    expect(new CardinalityCap(5).label('m'.repeat(500))).to.have.length(MAX_LABEL_CHARS);
    const seeded = new CardinalityCap(2);
    seeded.seed(['x', 'y', 'z']);
    expect([seeded.label('x'), seeded.label('y'), seeded.label('z'), seeded.label('w')]).to.deep.equal(['x', 'y', OTHER_LABEL, OTHER_LABEL]);
  });

  describe('through the gateway', () => {
    let upstream: FakeOpenAI;
    let gw: Gateway;
    before(async () => {
      upstream = await new FakeOpenAI().start();
      gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, ADMIN_API_KEY: 'admin-secret' });
    });
    after(async () => {
      await gw?.close();
      await upstream?.stop();
    });

    it('stats and lifetime totals hold at most N invented model names plus "other"; priced models keep their name', async () => {
      const extra = 20;
      for (let i = 0; i < MAX_MODELS_TRACKED + extra; i++) {
        const r = await chat(gw, { model: `invented-model-${i}-${'x'.repeat(100)}`, messages: [{ role: 'user', content: 'hi' }] }, { 'cache-control': 'no-store' });
        expect(r.status).to.equal(200);
      }
      expect((await chat(gw, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })).status).to.equal(200);
      const res = await fetch(`${gw.url}/v1/gateway/stats`, { headers: { authorization: 'Bearer admin-secret' } });
      const stats = (await res.json()) as { byModel: Record<string, { requests: number }> };
      const names = Object.keys(stats.byModel);
      expect(names).to.include(OTHER_LABEL).and.include('gpt-4o-mini');
      expect(names.length).to.equal(MAX_MODELS_TRACKED + 2);
      expect(stats.byModel[OTHER_LABEL]!.requests).to.equal(extra);
      for (const n of names) expect(n.length).to.be.at.most(MAX_LABEL_CHARS);
    });
  });
});
