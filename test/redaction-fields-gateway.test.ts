import { expect } from 'chai';
import type { Gateway } from '../src/server.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { chat, startTestGateway } from './helpers/gateway.js';

const MODEL = 'gpt-4o-mini';
const CARD = '4111 1111 1111 1111';
const FULLWIDTH_CARD = CARD.replace(/\d/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
const ZW_CARD = '4111\u200b1111\u200b1111\u200b1111';

describe('redaction beyond message text (real gateway, real upstream server)', () => {
  let upstream: FakeOpenAI;
  before(async () => {
    upstream = await new FakeOpenAI().start();
  });
  after(async () => upstream?.stop());
  beforeEach(() => upstream.reset());

  it('block: a card number in user, metadata, stop, a tool description or hidden by fullwidth / zero-width digits is refused, nothing sent', async () => {
    const gw: Gateway = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, REDACTION: 'block' });
    try {
      const base = { model: MODEL, messages: [{ role: 'user', content: 'hello there' }] };
      const bodies = [
        { ...base, user: CARD },
        { ...base, metadata: { note: CARD } },
        { ...base, stop: [CARD] },
        { ...base, tools: [{ type: 'function', function: { name: 'pay', description: `charges ${CARD}`, parameters: { type: 'object', properties: {} } } }] },
        { ...base, messages: [{ role: 'user', name: 'x', content: `pay with ${FULLWIDTH_CARD}` }] },
        { ...base, messages: [{ role: 'user', content: `pay with ${ZW_CARD}` }] },
      ];
      for (const body of bodies) {
        const r = await chat(gw, body);
        expect(r.status, JSON.stringify(body)).to.equal(400);
        expect(r.json.error.code).to.equal('sensitive_data_blocked');
      }
      expect(upstream.calls).to.have.length(0);
      expect((await chat(gw, base)).status).to.equal(200);
    } finally {
      await gw.close();
    }
  });

  it('mask: the upstream sees placeholders in every field; the client gets its zero-width / fullwidth value back', async () => {
    const gw: Gateway = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, REDACTION: 'mask' });
    try {
      const r = await chat(gw, { model: MODEL, user: 'ann@example.com', stop: [CARD], messages: [{ role: 'user', content: `Repeat after me: ${ZW_CARD} and ${FULLWIDTH_CARD}` }] });
      expect(r.status).to.equal(200);
      const sent = JSON.stringify(upstream.calls[0]!.body);
      expect(sent).to.not.contain('ann@example.com').and.not.contain('4111').and.not.contain('４１１１');
      expect(sent).to.contain('[EMAIL_1]').and.contain('[CREDIT_CARD_');
      // The fake upstream echoes the prompt: the client reads its own characters back.
      expect(r.json.choices[0].message.content).to.contain(ZW_CARD).and.contain(FULLWIDTH_CARD);
    } finally {
      await gw.close();
    }
  });
});
