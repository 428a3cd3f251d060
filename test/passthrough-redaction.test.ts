import { expect } from 'chai';
import type { Gateway } from '../src/server.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { startTestGateway } from './helpers/gateway.js';

describe('redaction on pass-through routes (real gateway, real upstream)', () => {
  let upstream: FakeOpenAI;
  before(async () => {
    upstream = await new FakeOpenAI().start();
  });
  after(async () => upstream?.stop());
  beforeEach(() => upstream.reset());

  const embed = (gw: Gateway, input: unknown) =>
    fetch(`${gw.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'text-embedding-3-small', input }) });

  it('REDACTION=block refuses a body carrying a card number (fullwidth digits too) before it goes upstream', async () => {
    const gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, REDACTION: 'block' });
    try {
      for (const card of ['4111 1111 1111 1111', '４１１１ １１１１ １１１１ １１１１']) {
        const res = await embed(gw, [`my card is ${card}`]);
        expect(res.status).to.equal(400);
        const body = (await res.json()) as { error: { code: string; type: string; message: string } };
        expect(body.error.code).to.equal('sensitive_data_blocked');
        expect(body.error.message).to.not.include('4111');
      }
      const clean = await embed(gw, 'nothing sensitive here');
      expect(clean.status).to.equal(200);
      expect(upstream.calls).to.have.length(1);
    } finally {
      await gw.close();
    }
  });

  it('REDACTION=mask sends placeholders upstream instead of the values', async () => {
    const gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, REDACTION: 'mask' });
    try {
      const res = await embed(gw, 'write to jane.doe@example.com about card 4111-1111-1111-1111');
      expect(res.status).to.equal(200);
      const sent = JSON.stringify(upstream.calls[0]!.body);
      expect(sent).to.not.include('jane.doe@example.com');
      expect(sent).to.not.match(/4111.?1111.?1111.?1111/);
      expect(sent).to.include('write to');
    } finally {
      await gw.close();
    }
  });
});
