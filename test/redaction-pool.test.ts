import { expect } from 'chai';
import { RedactionDepthError, redactBody, type RedactionMode } from '../src/policy/redaction.js';
import { RedactionPool, RedactionUnavailableError } from '../src/policy/redaction-pool.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { startTestGateway } from './helpers/gateway.js';

const repeatTo = (unit: string, chars: number) => unit.repeat(Math.ceil(chars / unit.length)).slice(0, chars);

/** Bodies of every shape the detectors care about, small and large. */
function bodies(): Array<[string, unknown]> {
  const many = Array.from({ length: 400 }, (_, i) => `user${i}@example.com`).join(' and ');
  return [
    ['nothing sensitive', { model: 'm', messages: [{ role: 'user', content: repeatTo('plain words only ', 100_000) }] }],
    ['cards and e-mails, repeated', { model: 'm', messages: [{ role: 'user', content: repeatTo('pay 4111 1111 1111 1111 and mail bob@example.com. ', 200_000) }] }],
    ['distinct e-mails numbered in order', { model: 'm', user: 'ann@example.com', messages: [{ role: 'user', content: many }, { role: 'assistant', content: 'ok user7@example.com' }] }],
    [
      'every field and kind',
      {
        model: 'm',
        metadata: { 'bob@example.com': 'key 10.1.2.3', nested: ['+44 20 7946 0958', { type: 'string' }] },
        stop: ['123-45-6789'],
        tools: [{ type: 'function', function: { name: 'f', description: 'call sk-abcdefghijklmnopqrstuvwx12345', parameters: { type: 'object' } } }],
        messages: [
          { role: 'user', name: 'jane@example.com', content: [{ type: 'text', text: 'IBAN DE89 3704 0044 0532 0130 00, fe80::1:2, ４１１１ １１１１ １１１１ １１１１, 41\u200b11111111111111' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,4111111111111111' } }] },
        ],
      },
    ],
  ];
}

describe('redaction off the event loop (RedactionPool)', () => {
  let pool: RedactionPool;
  before(() => {
    pool = new RedactionPool({ inlineLimit: 0 }); // every body goes to the worker
  });
  after(async () => pool.close());

  for (const mode of ['mask', 'block'] as RedactionMode[]) {
    it(`gives the same body, findings, placeholders and restore as the inline path (${mode})`, async () => {
      for (const [name, body] of bodies()) {
        const inline = redactBody(body, mode);
        const off = await pool.redactBody(body, mode);
        expect(off.findings, name).to.deep.equal(inline.findings);
        expect(off.blockedKinds, name).to.deep.equal(inline.blockedKinds);
        expect(off.body, name).to.deep.equal(inline.body);
        expect(off.body === body, `${name}: unchanged means the input itself`).to.equal(inline.body === body);
        // Restore every placeholder the inline path issued, whole and streamed in pieces.
        const echoed = JSON.stringify(inline.body);
        expect(off.restore(echoed), name).to.equal(inline.restore(echoed));
        if (mode === 'mask' && Object.keys(inline.findings).length > 0) expect(off.restore(echoed), name).to.not.equal(echoed);
        const a = inline.createStreamRestorer();
        const b = off.createStreamRestorer();
        const pieces = echoed.slice(0, 20_000).match(/[\s\S]{1,7}/g) ?? [];
        expect(pieces.map((p) => b.push(p)).join('') + b.flush(), name).to.equal(pieces.map((p) => a.push(p)).join('') + a.flush());
      }
    });
  }

  it('refuses JSON nested too deeply, as the inline path does', async () => {
    let deep: unknown = 'bob@example.com';
    for (let i = 0; i < 100; i++) deep = { a: deep };
    expect(() => redactBody(deep, 'mask')).to.throw(RedactionDepthError);
    let caught: unknown;
    await pool.redactBody(deep, 'mask').catch((err) => (caught = err));
    expect(caught).to.be.instanceOf(RedactionDepthError);
  });

  it('replaces a worker that takes too long, refusing that body, and serves the next with a fresh one', async () => {
    const slow = new RedactionPool({ inlineLimit: 0, timeoutMs: 200 });
    try {
      const small = { messages: [{ role: 'user', content: 'mail bob@example.com' }] };
      expect((await slow.redactBody(small, 'mask')).findings).to.deep.equal({ EMAIL: 1 });
      // Several seconds of detection work: far beyond 200 ms.
      const huge = { messages: [{ role: 'user', content: repeatTo('fe80::1:2 ', 6_000_000) }] };
      let caught: unknown;
      await slow.redactBody(huge, 'mask').catch((err) => (caught = err));
      expect(caught).to.be.instanceOf(RedactionUnavailableError);
      expect(slow.restarts).to.equal(1);
      expect((await slow.redactBody(small, 'block')).blockedKinds).to.deep.equal(['EMAIL']);
    } finally {
      await slow.close();
    }
  });

  describe('through the gateway (real upstream)', () => {
    let upstream: FakeOpenAI;
    before(async () => {
      upstream = await new FakeOpenAI().start();
    });
    after(async () => upstream?.stop());

    // ~1 MB of card numbers and e-mails: 0.3 s or more of detection, which used to hold /health too.
    const hostile = repeatTo('pay 4111 1111 1111 1111 and mail bob@example.com now. ', 900_000);

    /**
     * What /health may wait: half of what checking the same body inline takes here and now (so a
     * loaded machine slows both alike), and at least 150 ms. Inline, the wait is the whole check
     * plus the rest of the request, so the old code fails this by construction.
     */
    function stallBound(body: unknown): number {
      const t = performance.now();
      redactBody(body, 'mask');
      return Math.max(150, (performance.now() - t) / 2);
    }

    /**
     * The longest gap between two /health answers while `work` runs (probes back to back, 5 ms
     * apart): the event loop is shared, so any step that holds it shows up here.
     */
    async function healthDuring(url: string, work: Promise<Response>): Promise<{ worst: number; probes: number; res: Response }> {
      let done = false;
      let worst = 0;
      let probes = 0;
      const probe = (async () => {
        let last = performance.now();
        while (!done) {
          await fetch(`${url}/health`).then((r) => r.arrayBuffer());
          const now = performance.now();
          worst = Math.max(worst, now - last);
          last = now;
          probes++;
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      const res = await work;
      done = true;
      await probe;
      return { worst, probes, res };
    }

    it('answers /health while a 1 MB prompt full of card numbers and e-mails is masked, and masks it all', async () => {
      const gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, REDACTION: 'mask' });
      try {
        // A first chat request builds the tokenizer (a one-off cost of a fresh process, whatever the body).
        const warm = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'warm up' }] }) });
        expect(warm.status).to.equal(200);
        const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: hostile }] };
        const work = fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        const { worst, probes, res } = await healthDuring(gw.url, work);
        expect(res.status).to.equal(200);
        const sent = JSON.stringify(upstream.calls.at(-1)!.body);
        expect(sent).to.not.include('bob@example.com');
        expect(sent).to.not.match(/4111 1111/);
        expect(sent).to.include('[CREDIT_CARD_1]').and.include('[EMAIL_1]');
        // Generous: the inline path held the loop for 400+ ms here.
        expect(probes).to.be.above(2);
        expect(worst).to.be.below(stallBound(body));
      } finally {
        await gw.close();
      }
    });

    it('answers /health while a 1 MB pass-through body is checked under REDACTION=block, and refuses it', async () => {
      const gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, REDACTION: 'block' });
      try {
        await fetch(`${gw.url}/health`);
        const before = upstream.calls.length;
        const body = { model: 'text-embedding-3-small', input: hostile };
        const work = fetch(`${gw.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        const { worst, probes, res } = await healthDuring(gw.url, work);
        expect(res.status).to.equal(400);
        expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('sensitive_data_blocked');
        expect(upstream.calls.length).to.equal(before);
        expect(probes).to.be.above(2);
        expect(worst).to.be.below(stallBound(body));
      } finally {
        await gw.close();
      }
    });
  });
});
