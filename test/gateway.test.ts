import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import OpenAI from 'openai';
import type { Gateway } from '../src/server.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { chat, parseSseBody, startTestGateway, testConfig } from './helpers/gateway.js';
import { freshRedisUrl, requireRedis } from './helpers/redis.js';

const MODEL = 'gpt-4o-mini';
const ask = (content: string, extra: Record<string, unknown> = {}) => ({ model: MODEL, messages: [{ role: 'user', content }], ...extra });

describe('gateway core (real upstream server, real embedder, index and store)', () => {
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
  beforeEach(() => upstream.reset());

  describe('lookup tiers', () => {
    it('answers a miss from upstream, then the identical request from the exact tier without calling upstream', async () => {
      const first = await chat(gw, ask('How do I reverse a linked list in Java?'));
      expect(first.status).to.equal(200);
      expect(first.headers.get('x-cache-status')).to.equal('miss');
      expect(first.headers.get('x-request-id')).to.be.a('string').and.not.empty;
      const second = await chat(gw, ask('How do I reverse a linked list in Java?'));
      expect(second.status).to.equal(200);
      expect(second.headers.get('x-cache-status')).to.equal('hit');
      expect(Number(second.headers.get('x-cache-age'))).to.be.at.least(0);
      expect(second.json).to.deep.equal(first.json);
      expect(upstream.calls).to.have.length(1);
    });

    it('serves a paraphrase as a semantic hit with its similarity', async () => {
      const original = await chat(gw, ask('What is the best way to learn the Spanish language quickly?'));
      expect(original.headers.get('x-cache-status')).to.equal('miss');
      const para = await chat(gw, ask("what's the best way to quickly learn the spanish language"));
      expect(para.headers.get('x-cache-status')).to.equal('semantic-hit');
      const sim = Number(para.headers.get('x-cache-similarity'));
      expect(sim).to.be.greaterThan(0.5).and.at.most(1);
      expect(para.json.choices[0].message.content).to.equal(original.json.choices[0].message.content);
      expect(upstream.calls).to.have.length(1);
    });

    it('does not serve an unrelated prompt from the cache', async () => {
      await chat(gw, ask('Explain how photosynthesis works in plants'));
      const other = await chat(gw, ask('Write a haiku about the ocean at night'));
      expect(other.headers.get('x-cache-status')).to.equal('miss');
      expect(upstream.calls).to.have.length(2);
    });

    it('lets x-cache-threshold demand a closer match', async () => {
      await chat(gw, ask('Give me three tips for sleeping better at night'));
      const strict = await chat(gw, ask('give me 3 tips for better sleep during the night'), { 'x-cache-threshold': '1' });
      expect(strict.headers.get('x-cache-status')).to.equal('miss');
    });
  });

  describe('scope: what may answer what', () => {
    it('never shares entries across tenants (different Authorization)', async () => {
      await chat(gw, ask('Summarize the plot of Hamlet'), { authorization: 'Bearer tenant-a' });
      const b = await chat(gw, ask('Summarize the plot of Hamlet'), { authorization: 'Bearer tenant-b' });
      expect(b.headers.get('x-cache-status')).to.equal('miss');
      const a = await chat(gw, ask('Summarize the plot of Hamlet'), { authorization: 'Bearer tenant-a' });
      expect(a.headers.get('x-cache-status')).to.equal('hit');
      expect(upstream.calls).to.have.length(2);
    });

    it('separates x-cache-namespace values', async () => {
      await chat(gw, ask('List the planets of the solar system'), { 'x-cache-namespace': 'team-1' });
      const other = await chat(gw, ask('List the planets of the solar system'), { 'x-cache-namespace': 'team-2' });
      expect(other.headers.get('x-cache-status')).to.equal('miss');
    });

    it('separates different system prompts, earlier turns and temperatures', async () => {
      const q = 'Translate good morning into French';
      const base = { model: MODEL, messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: q }] };
      expect((await chat(gw, base)).headers.get('x-cache-status')).to.equal('miss');
      expect((await chat(gw, base)).headers.get('x-cache-status')).to.equal('hit');
      const otherSystem = { model: MODEL, messages: [{ role: 'system', content: 'You are verbose.' }, { role: 'user', content: q }] };
      expect((await chat(gw, otherSystem)).headers.get('x-cache-status')).to.equal('miss');
      const otherHistory = {
        model: MODEL,
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello!' },
          { role: 'user', content: q },
        ],
      };
      expect((await chat(gw, otherHistory)).headers.get('x-cache-status')).to.equal('miss');
      expect((await chat(gw, { ...base, temperature: 1.5 })).headers.get('x-cache-status')).to.equal('miss');
      expect((await chat(gw, { ...base, model: 'gpt-4o' })).headers.get('x-cache-status')).to.equal('miss');
      expect(upstream.calls).to.have.length(5);
    });
  });

  it('keeps empty, null and malformed-text content apart in the exact tier', async () => {
    const variants = [
      { role: 'user', content: '' },
      { role: 'user', content: null },
      { role: 'user', content: [{ type: 'text' }] },
      { role: 'user', content: [{ type: 'text', text: 5 }] },
    ];
    for (const m of variants) {
      const r = await chat(gw, { model: MODEL, messages: [m] });
      expect(r.headers.get('x-cache-status'), JSON.stringify(m)).to.equal('miss');
    }
    expect(upstream.calls).to.have.length(4);
  });

  it('serves a very long prompt from the exact tier only (no embedding)', async () => {
    const long = 'Please summarise the following notes. ' + 'The quarterly numbers were reviewed in detail by the team. '.repeat(80);
    expect(long.length).to.be.greaterThan(4000);
    await chat(gw, ask(long));
    expect((await chat(gw, ask(long))).headers.get('x-cache-status')).to.equal('hit');
    const variant = await chat(gw, ask(long.replace('Please summarise', 'Summarise')));
    expect(variant.headers.get('x-cache-status')).to.equal('miss');
  });

  it('names the answering target on a streamed miss too', async () => {
    const r = await chat(gw, ask('Stream a short fact about tides', { stream: true }));
    expect(r.headers.get('x-cache-status')).to.equal('miss');
    expect(r.headers.get('x-gateway-provider')).to.equal('openai');
    expect(r.headers.get('x-gateway-model')).to.equal(MODEL);
  });

  describe('Cache-Control', () => {
    it('no-store neither reads nor writes the cache', async () => {
      const q = ask('What year did the Berlin Wall fall?');
      const a = await chat(gw, q, { 'cache-control': 'no-store' });
      expect(a.headers.get('x-cache-status')).to.equal('bypass');
      const b = await chat(gw, q);
      expect(b.headers.get('x-cache-status')).to.equal('miss');
      expect(upstream.calls).to.have.length(2);
    });

    it('no-cache skips the lookup but stores the fresh answer', async () => {
      const q = ask('Name a prime number larger than one hundred');
      await chat(gw, q);
      const fresh = await chat(gw, q, { 'cache-control': 'no-cache' });
      expect(fresh.headers.get('x-cache-status')).to.equal('bypass');
      expect(upstream.calls).to.have.length(2);
      const hit = await chat(gw, q);
      expect(hit.headers.get('x-cache-status')).to.equal('hit');
      expect(hit.json.id).to.equal(fresh.json.id);
    });

    it('max-age rejects entries older than N seconds', async () => {
      const q = ask('Describe the water cycle briefly');
      await chat(gw, q);
      await new Promise((r) => setTimeout(r, 1100));
      const tooOld = await chat(gw, q, { 'cache-control': 'max-age=0' });
      expect(tooOld.headers.get('x-cache-status')).to.equal('miss');
      const ok = await chat(gw, q, { 'cache-control': 'max-age=3600' });
      expect(ok.headers.get('x-cache-status')).to.equal('hit');
    });
  });

  describe('streaming', () => {
    it('streams a miss in OpenAI chunk format ending with [DONE], then replays it as a hit', async () => {
      const q = ask('Tell me a short story about a brave mouse', { stream: true });
      const miss = await chat(gw, q);
      expect(miss.status).to.equal(200);
      expect(miss.headers.get('content-type')).to.match(/^text\/event-stream/);
      expect(miss.headers.get('x-cache-status')).to.equal('miss');
      const events = parseSseBody(miss.text);
      expect(events[events.length - 1]).to.equal('[DONE]');
      const text = events.filter((e) => e !== '[DONE]').map((e) => e.choices[0]?.delta?.content ?? '').join('');
      expect(text).to.equal(FakeOpenAI.replyFor(q));
      // The gateway asked upstream for usage, but this client did not, so no usage chunk reaches it.
      expect(events.some((e) => e !== '[DONE]' && e.usage)).to.equal(false);
      expect(upstream.calls[0]!.body.stream_options).to.deep.equal({ include_usage: true });

      const hit = await chat(gw, q);
      expect(hit.headers.get('x-cache-status')).to.equal('hit');
      const replay = parseSseBody(hit.text);
      expect(replay[replay.length - 1]).to.equal('[DONE]');
      const replayText = replay.filter((e) => e !== '[DONE]').map((e) => e.choices[0]?.delta?.content ?? '').join('');
      expect(replayText).to.equal(text);
      expect(replay.filter((e) => e !== '[DONE]').map((e) => e.object)).to.satisfy((xs: string[]) => xs.every((x) => x === 'chat.completion.chunk'));
      expect(replay.at(-2).choices[0].finish_reason).to.equal('stop');

      // Stored from a stream, served as JSON to a non-streaming client.
      const asJson = await chat(gw, { ...q, stream: false });
      expect(asJson.headers.get('x-cache-status')).to.equal('hit');
      expect(asJson.json.choices[0].message.content).to.equal(text);
      expect(upstream.calls).to.have.length(1);
    });

    it('replays a JSON-stored answer as a stream with usage when the client asks for it', async () => {
      const q = ask('What is the boiling point of water at sea level in Celsius?');
      const first = await chat(gw, q);
      const streamed = await chat(gw, { ...q, stream: true, stream_options: { include_usage: true } });
      expect(streamed.headers.get('x-cache-status')).to.equal('hit');
      const events = parseSseBody(streamed.text);
      const usage = events.find((e) => e !== '[DONE]' && e.usage);
      expect(usage.usage).to.deep.equal(first.json.usage);
      expect(usage.choices).to.deep.equal([]);
    });

    it('does not cache an upstream stream that was cut before its final event', async () => {
      upstream.queue.push({ abortAfterChunks: 3 });
      const q = ask('Write a long poem about autumn leaves falling', { stream: true });
      const cut = await chat(gw, q).catch((err: Error) => ({ status: 0, text: String(err), headers: new Headers() }));
      if (cut.status === 200) expect(parseSseBody(cut.text).at(-1)).to.not.equal('[DONE]');
      const again = await chat(gw, q);
      expect(again.headers.get('x-cache-status')).to.equal('miss');
      expect(parseSseBody(again.text).at(-1)).to.equal('[DONE]');
      expect(upstream.calls).to.have.length(2);
    });
  });

  describe('upstream failures', () => {
    for (const status of [500, 429]) {
      it(`passes an upstream ${status} through with its body and never caches it`, async () => {
        upstream.queue.push({ failStatus: status });
        const q = ask(`A question that fails with ${status} the first time`);
        const failed = await chat(gw, q);
        expect(failed.status).to.equal(status);
        expect(failed.json.error.message).to.equal(`fake upstream failure ${status}`);
        if (status === 429) expect(failed.headers.get('retry-after')).to.equal('7');
        const retry = await chat(gw, q);
        expect(retry.status).to.equal(200);
        expect(retry.headers.get('x-cache-status')).to.equal('miss');
        expect(upstream.calls).to.have.length(2);
      });
    }

    it('answers 502 in OpenAI error shape when the upstream cannot be reached', async () => {
      const dead = await startTestGateway({ UPSTREAM_BASE_URL: 'http://127.0.0.1:9/v1' });
      try {
        const res = await chat(dead, ask('Is anybody there?'));
        expect(res.status).to.equal(502);
        expect(res.json.error).to.include.keys('message', 'type', 'code');
        const again = await chat(dead, ask('Is anybody there?'));
        expect(again.headers.get('x-cache-status')).to.equal('miss');
      } finally {
        await dead.close();
      }
    });

    it('answers 504 when the upstream is slower than UPSTREAM_TIMEOUT_MS', async () => {
      const slow = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, UPSTREAM_TIMEOUT_MS: '200' });
      try {
        upstream.queue.push({ latencyMs: 1000 });
        const res = await chat(slow, ask('A slow question'));
        expect(res.status).to.equal(504);
        expect(res.json.error.type).to.equal('timeout');
      } finally {
        await slow.close();
      }
    });
  });

  it('coalesces 20 concurrent identical misses into one upstream call', async () => {
    upstream.behavior = { latencyMs: 300 };
    const q = ask('What are the main causes of inflation?');
    const results = await Promise.all(Array.from({ length: 20 }, () => chat(gw, q)));
    expect(upstream.calls).to.have.length(1);
    const contents = new Set(results.map((r) => r.json.choices[0].message.content));
    expect(contents.size).to.equal(1);
    expect(results.filter((r) => r.headers.get('x-cache-status') === 'miss')).to.have.length(1);
    expect(results.filter((r) => r.headers.get('x-cache-coalesced') === 'true')).to.have.length(19);
  });

  describe('bad input gets a 4xx in OpenAI error shape', () => {
    const cases: Array<[string, string | Record<string, unknown>, number, RegExp]> = [
      ['invalid JSON', '{"model": "x", "messages": [', 400, /not valid JSON/],
      ['a non-object body', '[1,2,3]', 400, /JSON object/],
      ['missing model', { messages: [{ role: 'user', content: 'hi' }] }, 400, /model/],
      ['model of the wrong type', { model: 42, messages: [{ role: 'user', content: 'hi' }] }, 400, /model/],
      ['missing messages', { model: MODEL }, 400, /messages/],
      ['empty messages', { model: MODEL, messages: [] }, 400, /messages/],
      ['messages of the wrong type', { model: MODEL, messages: 'hello' }, 400, /messages/],
      ['an unknown role', { model: MODEL, messages: [{ role: 'wizard', content: 'hi' }] }, 400, /role/],
      ['ill-typed content', { model: MODEL, messages: [{ role: 'user', content: 5 }] }, 400, /content/],
      ['ill-typed stream flag', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: 'yes' }, 400, /stream/],
    ];
    for (const [name, body, status, message] of cases) {
      it(`rejects ${name}`, async () => {
        const res = await fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        });
        expect(res.status).to.equal(status);
        const json = (await res.json()) as { error: { message: string; type: string; code: unknown } };
        expect(json.error).to.have.keys('message', 'type', 'code', 'param');
        expect(json.error.type).to.equal('invalid_request_error');
        expect(json.error.message).to.match(message);
        expect(upstream.calls).to.have.length(0);
      });
    }

    it('rejects absurdly deep JSON with 400, not a 500', async () => {
      const deep = `${'['.repeat(5000)}"x"${']'.repeat(5000)}`;
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"model":"m","messages":[{"role":"user","content":"hi"}],"x":${deep}}`,
      });
      expect(res.status).to.equal(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).to.match(/deeper than/);
    });

    it('rejects a body over MAX_BODY_BYTES with 413', async () => {
      const small = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, MAX_BODY_BYTES: '2048' });
      try {
        const res = await chat(small, ask('x'.repeat(4000)));
        expect(res.status).to.equal(413);
        expect(res.json.error.code).to.equal('request_too_large');
      } finally {
        await small.close();
      }
    });

    it('rejects bad cache headers', async () => {
      const a = await chat(gw, ask('hi there'), { 'x-cache-threshold': 'high' });
      expect(a.status).to.equal(400);
      const b = await chat(gw, ask('hi there'), { 'cache-control': 'max-age=soon' });
      expect(b.status).to.equal(400);
      expect(upstream.calls).to.have.length(0);
    });

    it('answers unknown routes with 404 in the same shape', async () => {
      const res = await fetch(`${gw.url}/nothing-here`);
      expect(res.status).to.equal(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('not_found');
    });
  });

  describe('other routes', () => {
    it('passes GET /v1/models through', async () => {
      const res = await fetch(`${gw.url}/v1/models`);
      expect(res.status).to.equal(200);
      const json = (await res.json()) as { data: Array<{ id: string }> };
      expect(json.data.map((m) => m.id)).to.include('gpt-4o-mini');
    });

    it('forwards other /v1 endpoints (embeddings) to the upstream as they are, uncached', async () => {
      const body = { model: 'text-embedding-3-small', input: 'hello' };
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${gw.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client' }, body: JSON.stringify(body) });
        expect(res.status).to.equal(200);
        expect(res.headers.get('x-request-id')).to.equal('req-fake-embeddings');
        expect(((await res.json()) as { data: unknown[] }).data).to.have.length(1);
      }
      expect(upstream.calls.map((c) => c.body)).to.deep.equal([body, body]);
      expect(upstream.calls[0]!.headers.authorization).to.equal('Bearer sk-client');
      const missing = await fetch(`${gw.url}/v1/nothing-here`);
      expect(missing.status).to.equal(404); // the upstream's own answer, passed through
    });

    it('survives an upstream body that stalls or is cut on a forwarded endpoint, and cuts the client off too', async () => {
      const impatient = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, UPSTREAM_TIMEOUT_MS: '200' });
      try {
        for (const route of ['slowpass', 'breakpass']) {
          const outcome = await fetch(`${impatient.url}/v1/${route}`)
            .then((r) => r.text())
            .then(
              (text) => `complete: ${text}`,
              () => 'cut',
            );
          expect(outcome, route).to.equal('cut');
          expect((await fetch(`${impatient.url}/health`)).status).to.equal(200);
        }
      } finally {
        await impatient.close();
      }
    });

    it('forwards no client credential headers other than the resolved Authorization', async () => {
      await fetch(`${gw.url}/v1/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client', 'x-api-key': 'secret-1', 'api-key': 'secret-2', cookie: 'a=b' },
        body: JSON.stringify({ model: 'e', input: 'x' }),
      });
      const h = upstream.calls.at(-1)!.headers;
      expect(h.authorization).to.equal('Bearer sk-client');
      expect(h).to.not.have.any.keys('x-api-key', 'api-key', 'cookie');
    });

    it('refuses a gateway key sent in any shape other than Bearer, instead of passing it upstream', async () => {
      for (const authorization of ['sk-gw-abc', 'Token sk-gw-abc', 'Bearer sk-gw-abc extra']) {
        const res = await chat(gw, ask('hello'), { authorization });
        expect(res.status, authorization).to.equal(401);
      }
      expect(upstream.calls).to.have.length(0);
    });

    it('reports health', async () => {
      const res = await fetch(`${gw.url}/health`);
      expect(res.status).to.equal(200);
      expect(((await res.json()) as { status: string }).status).to.equal('ok');
    });

    it('purges the cache (by namespace, then whole) only with the admin key', async () => {
      await chat(gw, ask('Which ocean is the largest?'), { 'x-cache-namespace': 'purge-me' });
      await chat(gw, ask('Which desert is the largest?'));
      const denied = await fetch(`${gw.url}/v1/cache`, { method: 'DELETE', headers: { authorization: 'Bearer wrong' } });
      expect(denied.status).to.equal(401);
      for (const bad of ['namespace=a&namespace=b', 'namespace[]=a', 'namespaces=purge-me', 'namespace=']) {
        const refused = await fetch(`${gw.url}/v1/cache?${bad}`, { method: 'DELETE', headers: { authorization: 'Bearer admin-secret' } });
        expect(refused.status, bad).to.equal(400);
      }
      const byNs = await fetch(`${gw.url}/v1/cache?namespace=purge-me`, { method: 'DELETE', headers: { authorization: 'Bearer admin-secret' } });
      expect(((await byNs.json()) as { deleted: number }).deleted).to.equal(1);
      expect((await chat(gw, ask('Which ocean is the largest?'), { 'x-cache-namespace': 'purge-me' })).headers.get('x-cache-status')).to.equal('miss');
      expect((await chat(gw, ask('Which desert is the largest?'))).headers.get('x-cache-status')).to.equal('hit');
      const statsBefore = (await (await fetch(`${gw.url}/v1/gateway/stats`, { headers: { authorization: 'Bearer admin-secret' } })).json()) as { lifetime: { requests: number } };
      const all = await fetch(`${gw.url}/v1/cache`, { method: 'DELETE', headers: { authorization: 'Bearer admin-secret' } });
      expect(((await all.json()) as { deleted: number }).deleted).to.be.greaterThan(1);
      expect((await chat(gw, ask('Which desert is the largest?'))).headers.get('x-cache-status')).to.equal('miss');
      // The purge empties the cache only: totals kept in the same store survive it.
      const statsAfter = (await (await fetch(`${gw.url}/v1/gateway/stats`, { headers: { authorization: 'Bearer admin-secret' } })).json()) as { lifetime: { requests: number } };
      expect(statsAfter.lifetime.requests).to.be.greaterThan(statsBefore.lifetime.requests);
    });
  });

  describe('the official openai client pointed at the gateway', () => {
    it('works non-stream and stream, and the second call is served by the cache', async () => {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-test-client' });
      const a = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Name three primary colors' }] });
      expect(a.choices[0]!.message.content).to.equal('Answer #25 to: Name three primary colors');
      const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Name three primary colors' }], stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text).to.equal(a.choices[0]!.message.content);
      expect(upstream.calls).to.have.length(1);
      // The client's key went upstream because the gateway has no UPSTREAM_API_KEY.
      expect(upstream.calls[0]!.headers.authorization).to.equal('Bearer sk-test-client');
    });
  });
});

describe('gateway shutdown', () => {
  it('lets a request in flight finish, and stores its answer, before closing', async () => {
    const upstream = await new FakeOpenAI().start();
    const config = testConfig({ UPSTREAM_BASE_URL: upstream.url });
    let gw = await startTestGateway({}, config);
    try {
      upstream.behavior = { latencyMs: 400 };
      const inFlight = chat(gw, ask('A question still being answered at shutdown'));
      await new Promise((r) => setTimeout(r, 100));
      await gw.close();
      const res = await inFlight;
      expect(res.status).to.equal(200);
      upstream.behavior = {};
      gw = await startTestGateway({}, config);
      expect((await chat(gw, ask('A question still being answered at shutdown'))).headers.get('x-cache-status')).to.equal('hit');
    } finally {
      await gw.close();
      await upstream.stop();
    }
  });
});

describe('gateway persistence', () => {
  let upstream: FakeOpenAI;
  before(async () => {
    upstream = await new FakeOpenAI().start();
  });
  after(async () => upstream?.stop());

  it('keeps entries across a restart, and rebuilds a deleted index file from the store', async () => {
    const config = testConfig({ UPSTREAM_BASE_URL: upstream.url });
    const q = ask('How many bones are in the adult human body?');
    const para = ask('how many bones does an adult human body have');
    let gw = await startTestGateway({}, config);
    await chat(gw, q);
    await gw.close();

    gw = await startTestGateway({}, config);
    expect((await chat(gw, q)).headers.get('x-cache-status')).to.equal('hit');
    expect((await chat(gw, para)).headers.get('x-cache-status')).to.equal('semantic-hit');
    await gw.close();

    const indexFiles = fs.readdirSync(config.dataDir).filter((f) => f.startsWith('index-'));
    expect(indexFiles.length).to.be.greaterThan(0);
    for (const f of indexFiles) fs.rmSync(path.join(config.dataDir, f), { recursive: true });
    gw = await startTestGateway({}, config);
    try {
      expect(gw.cache.indexSize).to.equal(1);
      expect((await chat(gw, para)).headers.get('x-cache-status')).to.equal('semantic-hit');
      expect(upstream.calls).to.have.length(1);
    } finally {
      await gw.close();
    }
  });

  it('rebuilds from the store when the index file is corrupt', async () => {
    // INDEX_SCAN_MAX=0: every scope has its own HNSW index, so there are index files to corrupt.
    const config = testConfig({ UPSTREAM_BASE_URL: upstream.url, INDEX_SCAN_MAX: '0' });
    let gw = await startTestGateway({}, config);
    await chat(gw, ask('What causes the seasons on Earth?'));
    await gw.close();
    const dirs = fs.readdirSync(config.dataDir).filter((n) => n.startsWith('index-'));
    const files = dirs.flatMap((d) => fs.readdirSync(path.join(config.dataDir, d)).filter((n) => n.endsWith('.hnsw')).map((n) => path.join(config.dataDir, d, n)));
    expect(files.length).to.be.greaterThan(0);
    for (const f of files) fs.writeFileSync(f, 'garbage');
    gw = await startTestGateway({}, config);
    try {
      expect(gw.cache.indexSize).to.equal(1);
      expect((await chat(gw, ask('what causes the seasons on earth'))).headers.get('x-cache-status')).to.be.oneOf(['hit', 'semantic-hit']);
    } finally {
      await gw.close();
    }
  });
});

describe('gateway on the Redis store (CACHE_STORE_URL=redis://, the run\'s own redis-server)', () => {
  let upstream: FakeOpenAI;
  let storeUrl: string;
  // A database of the test run's own server that no other suite uses.
  const env = () => ({ UPSTREAM_BASE_URL: upstream.url, CACHE_STORE_URL: storeUrl });
  before(async function () {
    await requireRedis(this);
    storeUrl = (await freshRedisUrl())!;
    upstream = await new FakeOpenAI().start();
  });
  after(async () => upstream?.stop());

  it('stores in Redis, and a second gateway process-equivalent with an empty DATA_DIR serves exact and semantic hits from it', async () => {
    let gw = await startTestGateway(env());
    await gw.cache.purge();
    await chat(gw, ask('Which programming language should a beginner learn first?'));
    expect((await chat(gw, ask('Which programming language should a beginner learn first?'))).headers.get('x-cache-status')).to.equal('hit');
    await gw.close();

    // New DATA_DIR: no index file, so the index is rebuilt from the entries in Redis.
    gw = await startTestGateway(env());
    try {
      expect(gw.cache.size).to.equal(1);
      expect((await chat(gw, ask('Which programming language should a beginner learn first?'))).headers.get('x-cache-status')).to.equal('hit');
      expect((await chat(gw, ask('which programming language should a beginner learn first'))).headers.get('x-cache-status')).to.be.oneOf(['hit', 'semantic-hit']);
      expect((await chat(gw, ask('Which programming language should a beginner learn first?'), { authorization: 'Bearer other' })).headers.get('x-cache-status')).to.equal('miss');
      expect(upstream.calls).to.have.length(2);
      await gw.cache.purge();
    } finally {
      await gw.close();
    }
  });

  it('lets a second gateway process on the same Redis find, by meaning, what the first one just stored', async () => {
    const a = await startTestGateway(env());
    const b = await startTestGateway(env());
    try {
      await a.cache.purge();
      upstream.reset();
      await chat(a, ask('How do I make a good cup of pour-over coffee?'));
      const paraphrase = ask('how do I make a good cup of pour over coffee');
      // The notice travels over Redis pub/sub; give it a moment.
      for (let i = 0; i < 50 && b.cache.size < 1; i++) await new Promise((r) => setTimeout(r, 20));
      expect(b.cache.size).to.equal(1);
      expect((await chat(b, paraphrase)).headers.get('x-cache-status')).to.equal('semantic-hit');
      expect(upstream.calls).to.have.length(1);
      // A purge on one process empties the others' indexes too.
      await a.cache.purge();
      for (let i = 0; i < 50 && b.cache.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(b.cache.size).to.equal(0);
      expect(b.cache.indexSize).to.equal(0);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
