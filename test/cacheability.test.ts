import { expect } from 'chai';
import { uncacheableReason } from '../src/cache/cacheable.js';
import type { ChatCompletion } from '../src/providers/types.js';
import type { Gateway } from '../src/server.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { chat, parseSseBody, startTestGateway } from './helpers/gateway.js';

const MODEL = 'gpt-4o-mini';
const ask = (content: string, extra: Record<string, unknown> = {}) => ({ model: MODEL, messages: [{ role: 'user', content }], ...extra });

function completion(choices: unknown[]): ChatCompletion {
  return { id: 'c', object: 'chat.completion', created: 0, model: MODEL, choices } as ChatCompletion;
}
const choice = (message: Record<string, unknown>, finish_reason: unknown = 'stop') => ({ index: 0, message: { role: 'assistant', ...message }, finish_reason });

describe('cacheability: only answers that say something and ended normally are stored', () => {
  describe('uncacheableReason', () => {
    it('accepts text, tool calls and legacy function calls with a normal finish reason', () => {
      expect(uncacheableReason(completion([choice({ content: 'Paris.' })]))).to.equal(undefined);
      expect(uncacheableReason(completion([choice({ content: 'Paris, the capital of' }, 'length')]))).to.equal(undefined);
      const call = { id: 't1', type: 'function', function: { name: 'get_weather', arguments: '{}' } };
      expect(uncacheableReason(completion([choice({ content: null, tool_calls: [call] }, 'tool_calls')]))).to.equal(undefined);
      expect(uncacheableReason(completion([choice({ content: null, function_call: { name: 'f', arguments: '{}' } }, 'function_call')]))).to.equal(undefined);
      expect(uncacheableReason(completion([choice({ content: [{ type: 'text', text: 'hi' }] })]))).to.equal(undefined);
    });

    it('refuses empty, filtered, refused, unfinished and odd answers', () => {
      expect(uncacheableReason(completion([]))).to.equal('no choices');
      expect(uncacheableReason({ ...completion([]), choices: undefined } as unknown as ChatCompletion)).to.equal('no choices');
      expect(uncacheableReason(completion([choice({ content: null }, 'content_filter')]))).to.match(/content_filter/);
      expect(uncacheableReason(completion([choice({ content: 'partial text' }, 'content_filter')]))).to.match(/content_filter/);
      expect(uncacheableReason(completion([choice({ content: 'x' }, null)]))).to.match(/finish_reason/);
      expect(uncacheableReason(completion([{ index: 0, message: { role: 'assistant', content: 'x' } }]))).to.match(/missing/);
      expect(uncacheableReason(completion([choice({ content: 'x' }, 'error')]))).to.match(/finish_reason/);
      expect(uncacheableReason(completion([choice({ content: '' })]))).to.equal('empty answer');
      expect(uncacheableReason(completion([choice({ content: '  \n ' })]))).to.equal('empty answer');
      expect(uncacheableReason(completion([choice({ content: null })]))).to.equal('empty answer');
      expect(uncacheableReason(completion([choice({ content: '' }, 'length')]))).to.equal('empty answer');
      expect(uncacheableReason(completion([choice({ content: null, tool_calls: [] }, 'tool_calls')]))).to.equal('empty answer');
      expect(uncacheableReason(completion([choice({ content: null, refusal: "I can't help with that." })]))).to.equal('refusal');
      // n > 1: one bad choice spoils the answer.
      expect(uncacheableReason(completion([choice({ content: 'a' }), { ...choice({ content: null }, 'content_filter'), index: 1 }]))).to.match(/content_filter/);
    });
  });

  describe('through the gateway (real upstream server, embedder, index, store)', () => {
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

    const cases: Array<[string, Record<string, unknown>]> = [
      ['choices: []', { noChoices: true }],
      ['content null with content_filter', { reply: null, finishReason: 'content_filter' }],
      ['text with content_filter', { reply: 'Here is how to', finishReason: 'content_filter' }],
      ['empty content', { reply: '' }],
    ];
    for (const [i, [label, behavior]] of cases.entries()) {
      it(`passes a 200 with ${label} to the client but never serves it again`, async () => {
        const q = `Tell me about the history of ${label.replace(/\W+/g, ' ')} in detail`;
        upstream.queue.push(behavior, behavior, behavior);
        // Each case in its own namespace: the answer a previous case stored must not be a candidate.
        const ns = { 'x-cache-namespace': `cacheability-${i}` };
        const first = await chat(gw, ask(q), ns);
        expect(first.status).to.equal(200);
        expect(first.headers.get('x-cache-status')).to.equal('miss');
        // The same request and a paraphrase both go upstream again.
        const again = await chat(gw, ask(q), ns);
        expect(again.headers.get('x-cache-status')).to.equal('miss');
        const para = await chat(gw, ask(q.toLowerCase() + ' please'), ns);
        expect(para.headers.get('x-cache-status')).to.not.match(/hit/);
        expect(upstream.calls).to.have.length(3);
        // A real answer is stored, and is what repeats get.
        expect((await chat(gw, ask(q), ns)).headers.get('x-cache-status')).to.equal('miss');
        expect((await chat(gw, ask(q), ns)).headers.get('x-cache-status')).to.equal('hit');
        expect(upstream.calls).to.have.length(4);
      });
    }

    it('does not cache a streamed answer that ended with content_filter', async () => {
      const q = 'Stream me a filtered story about dragons';
      upstream.queue.push({ reply: 'Once upon ', finishReason: 'content_filter' });
      const first = await chat(gw, ask(q, { stream: true }));
      expect(first.status).to.equal(200);
      const events = parseSseBody(first.text);
      expect(events.at(-1)).to.equal('[DONE]');
      const again = await chat(gw, ask(q, { stream: true }));
      expect(again.headers.get('x-cache-status')).to.equal('miss');
      expect(upstream.calls).to.have.length(2);
    });

    it('caches an answer cut at max_tokens (finish_reason length) for the same max_tokens only', async () => {
      const q = 'Write a long essay about the Roman empire';
      upstream.queue.push({ reply: 'The Roman empire was', finishReason: 'length' });
      await chat(gw, ask(q, { max_tokens: 5 }));
      const again = await chat(gw, ask(q, { max_tokens: 5 }));
      expect(again.headers.get('x-cache-status')).to.equal('hit');
      expect(again.json.choices[0].finish_reason).to.equal('length');
      const longer = await chat(gw, ask(q, { max_tokens: 500 }));
      expect(longer.headers.get('x-cache-status')).to.equal('miss');
    });
  });
});
