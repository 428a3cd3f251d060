import { expect } from 'chai';
import OpenAI, { APIError } from 'openai';
import type { Gateway } from '../src/server.js';
import { replayPieces } from '../src/providers/stream-assembler.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { chat, parseSseBody, startTestGateway } from './helpers/gateway.js';

const MODEL = 'gpt-4o-mini';

/** Streams through the official SDK; returns the content deltas, or the error the SDK raised. */
async function streamWithSdk(client: OpenAI, content: string): Promise<{ deltas: string[]; error?: unknown; usage?: unknown }> {
  const deltas: string[] = [];
  let usage: unknown;
  try {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content }],
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of stream) {
      const d = chunk.choices[0]?.delta?.content;
      if (d) deltas.push(d);
      if (chunk.usage) usage = chunk.usage;
    }
    return { deltas, usage };
  } catch (error) {
    return { deltas, error };
  }
}

describe('streams through the official openai SDK (real gateway, real upstream server)', () => {
  let upstream: FakeOpenAI;
  let gw: Gateway;
  let client: OpenAI;

  before(async () => {
    upstream = await new FakeOpenAI().start();
    gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-test-client', maxRetries: 0 });
  });
  after(async () => {
    await gw?.close();
    await upstream?.stop();
  });
  beforeEach(() => upstream.reset());

  it('ends a stream whose upstream reports an error mid-way with an error event the SDK raises as APIError', async () => {
    upstream.queue.push({ errorAfterChunks: 3 });
    const prompt = 'Describe the water cycle in several sentences please';
    const r = await streamWithSdk(client, prompt);
    expect(r.deltas.length).to.equal(3); // the chunks before the failure reached the client
    expect(r.error).to.be.instanceOf(APIError);
    expect((r.error as APIError).message).to.contain('fake upstream overloaded mid-stream');
    expect((r.error as APIError).type).to.equal('server_error');

    // On the wire: the error event is the stream's last event, with no [DONE] after it.
    upstream.queue.push({ errorAfterChunks: 2 });
    const raw = await chat(gw, { model: MODEL, messages: [{ role: 'user', content: prompt }], stream: true });
    const events = parseSseBody(raw.text);
    expect(events.at(-1).error.message).to.contain('fake upstream overloaded mid-stream');
    expect(events).to.not.include('[DONE]');
    // Nothing was cached: the next call goes upstream and completes.
    const again = await streamWithSdk(client, prompt);
    expect(again.error).to.equal(undefined);
    expect(again.deltas.join('')).to.equal(FakeOpenAI.replyFor({ messages: [{ role: 'user', content: prompt }] }));
    expect(upstream.calls).to.have.length(3);
  });

  it('ends a stream whose upstream connection dies mid-way with an error event, not a cut socket', async () => {
    upstream.queue.push({ abortAfterChunks: 4, chunkDelayMs: 20 }); // the delay lets each chunk leave before the cut
    const r = await streamWithSdk(client, 'Explain how a rainbow forms, step by step');
    expect(r.deltas.length).to.be.greaterThan(0);
    expect(r.error).to.be.instanceOf(APIError);
    expect((r.error as APIError).message).to.match(/upstream openai stream (failed|ended before its final event)/);
  });

  it('replays a streamed hit in several content chunks with the stored usage', async () => {
    const prompt = 'Give me a few tips for keeping houseplants healthy in winter';
    const miss = await streamWithSdk(client, prompt);
    expect(miss.error).to.equal(undefined);
    expect(miss.deltas.length).to.be.greaterThan(5);
    const hit = await streamWithSdk(client, prompt);
    expect(upstream.calls).to.have.length(1);
    expect(hit.deltas.join('')).to.equal(miss.deltas.join(''));
    expect(hit.deltas.length).to.be.greaterThan(1);
    // About as many pieces as the upstream sent (one per word here).
    expect(hit.deltas.length).to.be.within(Math.ceil(miss.deltas.length / 2), miss.deltas.length * 2);
    expect(hit.usage).to.deep.equal(miss.usage);
  });
});

describe('replay pieces of a cached answer', () => {
  it('cuts at word starts and after 12 code points, and joins back to the exact text', () => {
    expect(replayPieces('Hello world, how are you?')).to.deep.equal(['Hello', ' world,', ' how', ' are', ' you?']);
    expect(replayPieces('  two\n\nlines  ')).to.deep.equal(['  two', '\n\nlines', '  ']);
    const cjk = '这是一个没有空格的很长的中文句子用来测试切分是否正常工作';
    expect(replayPieces(cjk).every((p) => [...p].length <= 12)).to.equal(true);
    for (const text of ['', 'x', cjk, 'emoji 😀😀😀😀😀😀😀😀😀😀😀😀😀 end', 'a'.repeat(100), ' \t\n '.repeat(50)]) {
      expect(replayPieces(text).join('')).to.equal(text);
    }
    expect(replayPieces('')).to.deep.equal([]);
  });
});
