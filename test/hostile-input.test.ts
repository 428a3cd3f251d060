import { expect } from 'chai';
import type { Gateway } from '../src/server.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { chat, startTestGateway } from './helpers/gateway.js';

const MODEL = 'gpt-4o-mini';

describe('hostile inputs up to the body limit (real gateway, real upstream server)', () => {
  let upstream: FakeOpenAI;
  let gw: Gateway;

  before(async () => {
    upstream = await new FakeOpenAI().start();
    gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url });
  });
  after(async () => {
    await gw?.close();
    await upstream?.stop();
  });
  beforeEach(() => upstream.reset());

  it('answers a ~1 MB unbroken run with 200 and a cost, not a 500 after the upstream was paid', async () => {
    for (const content of ['h'.repeat(1_000_000), '漢字'.repeat(160_000)]) {
      upstream.queue.push({ reply: 'ok' });
      const r = await chat(gw, { model: MODEL, messages: [{ role: 'user', content }] });
      expect(r.status, r.text.slice(0, 200)).to.equal(200);
      expect(r.json.choices[0].message.content).to.equal('ok');
      expect(r.headers.get('x-gateway-cost-usd')).to.match(/^\d+\.\d{6}$/);
    }
    expect(upstream.calls).to.have.length(2);
  });
});
