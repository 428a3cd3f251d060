import { Writable } from 'node:stream';
import { expect } from 'chai';
import winston from 'winston';
import { startGateway, type Gateway } from '../src/server.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { chat, defaultEmbedder, testConfig } from './helpers/gateway.js';

const MODEL = 'gpt-4o-mini';
const ask = (content: string) => ({ model: MODEL, messages: [{ role: 'user', content }] });
const CLIENT = { authorization: 'Bearer sk-client-one' };
const ADMIN = { authorization: 'Bearer admin-secret' };

async function feedback(gw: Gateway, body: unknown, headers: Record<string, string>) {
  const res = await fetch(`${gw.url}/v1/cache/feedback`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as any };
}

describe('POST /v1/cache/feedback (real gateway, embedder, index and store)', function () {
  this.timeout(120_000);
  let upstream: FakeOpenAI;
  let gw: Gateway;
  const lines: Array<Record<string, unknown>> = [];

  before(async () => {
    upstream = await new FakeOpenAI().start();
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    const logger = winston.createLogger({ level: 'info', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
    gw = await startGateway(testConfig({ UPSTREAM_BASE_URL: upstream.url, ADMIN_API_KEY: 'admin-secret', CACHE_STORE_URL: 'memory://' }), { embedder: await defaultEmbedder(), logger });
  });
  after(async () => {
    await gw?.close();
    await upstream?.stop();
  });

  it('retires an entry whose answer was wrong for its own question at the first negative label, and logs it', async () => {
    upstream.queue.push({ reply: 'The capital of Australia is Sydney.' });
    const h = { ...CLIENT, 'x-cache-namespace': 'fb-exact' };
    expect((await chat(gw, ask('What is the capital of Australia?'), h)).headers.get('x-cache-status')).to.equal('miss');
    const hit = await chat(gw, ask('What is the capital of Australia?'), h);
    expect(hit.headers.get('x-cache-status')).to.equal('hit');
    expect(hit.json.choices[0].message.content).to.equal('The capital of Australia is Sydney.');
    const r = await feedback(gw, { request_id: hit.headers.get('x-request-id'), correct: false }, CLIENT);
    expect(r.status).to.equal(200);
    expect(r.json).to.deep.equal({ request_id: hit.headers.get('x-request-id'), correct: false, recorded: true, entry_retired: true });
    const line = lines.find((l) => l.event === 'cache_feedback' && l.requestId === hit.headers.get('x-request-id'));
    expect(line).to.include({ correct: false, by: 'client', entryRetired: true, namespace: 'fb-exact' });
    // Gone: the next ask goes upstream and gets a fresh answer.
    const calls = upstream.calls.length;
    const again = await chat(gw, ask('What is the capital of Australia?'), h);
    expect(again.headers.get('x-cache-status')).to.equal('miss');
    expect(upstream.calls.length).to.equal(calls + 1);
  });

  it('retires an entry served to paraphrases at the second negative label, recording each as evidence', async () => {
    const h = { ...CLIENT, 'x-cache-namespace': 'fb-semantic' };
    await chat(gw, ask('In Swift, how do I sort an array of structs by date?'), h);
    const first = await chat(gw, ask('How do I sort an array of structs by date in Swift?'), h);
    expect(first.headers.get('x-cache-status')).to.equal('semantic-hit');
    const r1 = await feedback(gw, { request_id: first.headers.get('x-request-id'), correct: false }, CLIENT);
    expect(r1.json.entry_retired).to.equal(false);
    const line1 = lines.find((l) => l.event === 'cache_feedback' && l.requestId === first.headers.get('x-request-id'))!;
    const evidence = gw.cache.evidenceOf(line1.entry as number)!;
    expect(evidence.negativeFeedback).to.equal(1);
    expect(evidence.obs).to.deep.equal([[Number(Number(first.headers.get('x-cache-similarity')).toFixed(4)), 1, 1]]);
    const second = await chat(gw, ask('Swift: how do I sort an array of structs by date?'), h);
    expect(second.headers.get('x-cache-status')).to.equal('semantic-hit');
    const r2 = await feedback(gw, { request_id: second.headers.get('x-request-id'), correct: false }, CLIENT);
    expect(r2.json.entry_retired).to.equal(true);
    expect(gw.cache.has(line1.entry as number)).to.equal(false);
    expect((await chat(gw, ask('How do I sort an array of structs by date in Swift?'), h)).headers.get('x-cache-status')).to.equal('miss');
  });

  it('takes feedback only from the client that got the answer or the admin, once per request; positive labels change nothing', async () => {
    const h = { ...CLIENT, 'x-cache-namespace': 'fb-who' };
    await chat(gw, ask('How do I list hidden files in a directory on Linux?'), h);
    const hit = await chat(gw, ask('How do I list hidden files in a directory on Linux?'), h);
    const id = hit.headers.get('x-request-id');
    const other = await feedback(gw, { request_id: id, correct: false }, { authorization: 'Bearer sk-someone-else' });
    expect(other.status).to.equal(404);
    expect(other.json.error).to.include({ code: 'answer_not_found', type: 'invalid_request_error' });
    const positive = await feedback(gw, { request_id: id, correct: true }, CLIENT);
    expect(positive.json).to.include({ recorded: false, entry_retired: false });
    expect((await feedback(gw, { request_id: id, correct: false }, CLIENT)).status).to.equal(404);

    const hit2 = await chat(gw, ask('How do I list hidden files in a directory on Linux?'), h);
    const byAdmin = await feedback(gw, { request_id: hit2.headers.get('x-request-id'), correct: false }, ADMIN);
    expect(byAdmin.json).to.include({ entry_retired: true });
    expect(lines.find((l) => l.event === 'cache_feedback' && l.requestId === hit2.headers.get('x-request-id'))).to.include({ by: 'admin' });

    const miss = await chat(gw, ask('What is a good name for a pet tortoise?'), h);
    expect((await feedback(gw, { request_id: miss.headers.get('x-request-id'), correct: false }, CLIENT)).status).to.equal(404);
  });

  it('refuses malformed feedback with a 400 in OpenAI error shape', async () => {
    for (const body of [{}, { request_id: 'abc' }, { request_id: 'abc', correct: 'no' }, { request_id: 'a b', correct: false }, [1, 2]]) {
      const r = await feedback(gw, body, CLIENT);
      expect(r.status, JSON.stringify(body)).to.equal(400);
      expect(r.json.error).to.include({ type: 'invalid_request_error', code: 'invalid_value' });
    }
    const raw = await fetch(`${gw.url}/v1/cache/feedback`, { method: 'POST', headers: { 'content-type': 'application/json', ...CLIENT }, body: '{"request_id":' });
    expect(raw.status).to.equal(400);
    expect(((await raw.json()) as any).error.type).to.equal('invalid_request_error');
  });
});
