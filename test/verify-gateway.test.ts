import { expect } from 'chai';
import type { Gateway } from '../src/server.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { chat, startTestGateway } from './helpers/gateway.js';

const MODEL = 'gpt-4o-mini';
const ask = (content: string) => ({ model: MODEL, messages: [{ role: 'user', content }] });

// Examples written for this test. Each pair goes to its own namespace, so only its first prompt
// can answer its second.
describe('verifier through the gateway (real upstream server, embedder, index and store)', function () {
  this.timeout(120_000);
  let upstream: FakeOpenAI;
  let gw: Gateway;
  let ns = 0;
  const second = async (first: string, then: string, headers: Record<string, string> = {}) => {
    const h = { 'x-cache-namespace': `verify-${ns++}`, ...headers };
    expect((await chat(gw, ask(first), h)).headers.get('x-cache-status')).to.equal('miss');
    return chat(gw, ask(then), h);
  };

  before(async () => {
    upstream = await new FakeOpenAI().start();
    gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url });
  });
  after(async () => {
    await gw?.close();
    await upstream?.stop();
  });

  it('does not serve a role swap of multiword terms, and logs why', async () => {
    const r = await second(
      'How do I sync the photo library from my old tablet to the family desktop computer?',
      'How do I sync the photo library from the family desktop computer to my old tablet?',
    );
    expect(r.headers.get('x-cache-status')).to.equal('miss');
    const swap = await second('Is a kilogram of feathers lighter than a bag of cement?', 'Is a bag of cement lighter than a kilogram of feathers?');
    expect(swap.headers.get('x-cache-status')).to.equal('miss');
  });

  it('serves a moved clause and added politeness as semantic hits, with the verifier score as similarity', async () => {
    const r = await second('In Swift, how do I sort an array of structs by date?', 'How do I sort an array of structs by date in Swift?');
    expect(r.headers.get('x-cache-status')).to.equal('semantic-hit');
    const s = Number(r.headers.get('x-cache-similarity'));
    expect(s).to.be.within(gw.cache.defaultThreshold, 1);
    const p = await second('What does a mortgage broker do?', 'Hello! What does a mortgage broker do? Many thanks.');
    expect(p.headers.get('x-cache-status')).to.equal('semantic-hit');
  });

  it('does not serve the answer of a different question that shares the preamble', async () => {
    // Both prompts in one namespace: the first is stored, so it is the second's nearest candidate.
    const r = await second('Context: we run a food truck in Leeds. Question: how do I get a street trading licence?', 'Context: we run a food truck in Leeds. Question: what should we charge for a burger?');
    expect(r.headers.get('x-cache-status')).to.equal('miss');
    const t = await second('During the fire drill: where is the assembly point?', 'After the fire drill: who signs the attendance sheet?');
    expect(t.headers.get('x-cache-status')).to.equal('miss');
    // The same question behind another preamble is still served.
    const s = await second('During the fire drill: where is the assembly point?', 'After the fire drill: where is the assembly point?');
    expect(s.headers.get('x-cache-status')).to.equal('semantic-hit');
  });

  it('applies x-cache-threshold to the verifier score', async () => {
    const r = await second('In Swift, how do I read a JSON file from the bundle?', 'How do I read a JSON file from the bundle in Swift?', { 'x-cache-threshold': '0.999' });
    expect(r.headers.get('x-cache-status')).to.equal('miss');
  });

  it('takes its default threshold from the model verifier calibration', () => {
    expect(gw.cache.defaultThreshold).to.be.within(0.5, 1);
  });
});
