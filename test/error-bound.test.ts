import { expect } from 'chai';
import { betaQuantile, upperBound } from '../src/cache/bound/beta.js';
import { decide } from '../src/cache/bound/decision.js';
import { answersEquivalent } from '../src/cache/bound/equivalence.js';
import { EvidencePool, OBSERVATIONS_PER_ENTRY, withObservation } from '../src/cache/bound/evidence.js';
import { VerifyBudget } from '../src/cache/bound/verify-budget.js';
import { parseCacheDirectives } from '../src/cache/cache-control.js';
import type { ChatCompletion } from '../src/providers/types.js';
import type { Gateway } from '../src/server.js';
import { chat, defaultEmbedder, startTestGateway, tempDir } from './helpers/gateway.js';
import { GROUPS, stream } from './helpers/meaning-groups.js';
import { MeaningUpstream } from './helpers/meaning-upstream.js';
import { freshRedisUrl, requireRedis } from './helpers/redis.js';

const MODEL = 'gpt-4o-mini';
const ask = (content: string) => ({ model: MODEL, messages: [{ role: 'user', content }] });

interface Tally {
  requests: number;
  hits: number;
  semanticHits: number;
  wrongHits: number;
  verifications: number;
}

async function replay(gw: Gateway, upstream: MeaningUpstream, prompts: string[], headers: Record<string, string>): Promise<Tally> {
  const t: Tally = { requests: 0, hits: 0, semanticHits: 0, wrongHits: 0, verifications: 0 };
  for (const p of prompts) {
    const r = await chat(gw, ask(p), headers);
    expect(r.status).to.equal(200);
    t.requests++;
    const status = r.headers.get('x-cache-status');
    const content = r.json.choices[0].message.content as string;
    if (r.headers.get('x-cache-verification') === 'true') t.verifications++;
    if (status === 'hit' || status === 'semantic-hit') {
      t.hits++;
      if (status === 'semantic-hit') t.semanticHits++;
      if (content !== upstream.answerFor(p)) t.wrongHits++;
    } else {
      // A miss or a verification call: the client has the fresh answer, never a wrong one.
      expect(content).to.equal(upstream.answerFor(p));
    }
  }
  return t;
}

const completion = (message: Record<string, unknown>): ChatCompletion => ({
  id: 'x',
  object: 'chat.completion',
  created: 0,
  model: MODEL,
  choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: 'stop' }],
});

describe('error-bound mode: statistics', () => {
  it('computes Beta quantiles (closed form for Beta(1, n)) and Jeffreys upper bounds that tighten with evidence', () => {
    for (const n of [1, 4, 30]) expect(betaQuantile(0.95, 1, n)).to.be.closeTo(1 - Math.pow(0.05, 1 / n), 1e-9);
    expect(upperBound(0, 10, 0.95)).to.be.greaterThan(upperBound(0, 100, 0.95));
    expect(upperBound(0, 100, 0.95)).to.be.below(0.02);
    expect(upperBound(0, 90, 0.95)).to.be.above(0.02);
    expect(upperBound(5, 100, 0.95)).to.be.above(0.05);
  });

  it('serves only with evidence: none -> uncertain; clean pooled evidence -> serve; a wrong answer on the entry near the score -> not served', () => {
    expect(decide(0.95, 0.05, undefined, undefined, 0.3).serve).to.equal(false);
    const pool = new EvidencePool();
    for (let e = 0; e < 4; e++) {
      let other;
      for (let i = 0; i < 60; i++) other = withObservation(other, 0.9 + (i % 10) / 100, false);
      pool.add(other);
    }
    expect(decide(0.95, 0.05, undefined, pool, 0.3).serve).to.equal(true);
    // The pool's observations sit at 0.90-0.99; below them nothing is known.
    expect(decide(0.85, 0.05, undefined, pool, 0.3).serve).to.equal(false);
    const bad = withObservation(undefined, 0.93, true);
    expect(decide(0.95, 0.05, bad, pool, 0.3).serve).to.equal(false);
    // A wrong answer at a higher score counts too (the rate does not rise with the score)...
    expect(decide(0.95, 0.05, withObservation(undefined, 0.99, true), pool, 0.3).serve).to.equal(false);
    // ...one far below does not say the entry is wrong at 0.95.
    expect(decide(0.95, 0.05, withObservation(undefined, 0.5, true), pool, 0.3).serve).to.equal(true);
  });

  it('keeps at most OBSERVATIONS_PER_ENTRY observations per entry, the newest', () => {
    let e;
    for (let i = 0; i < OBSERVATIONS_PER_ENTRY + 10; i++) e = withObservation(e, i / 1000, i % 2 === 0);
    expect(e!.obs).to.have.length(OBSERVATIONS_PER_ENTRY);
    expect(e!.obs.at(-1)![0]).to.equal((OBSERVATIONS_PER_ENTRY + 9) / 1000);
  });

  it('grants verification calls at most at the configured share of lookups, at every point of the stream', () => {
    const b = new VerifyBudget(0.1);
    let granted = 0;
    for (let i = 1; i <= 1000; i++) {
      b.tick();
      if (b.take()) granted++;
      expect(granted).to.be.at.most(0.1 * i + 1e-9);
    }
    expect(granted).to.equal(100);
    const none = new VerifyBudget(0);
    none.tick();
    expect(none.take()).to.equal(false);
  });

  it('parses x-cache-max-error as a decimal in [0, 1], refusing anything else', () => {
    expect(parseCacheDirectives(undefined, undefined, '0.02').maxError).to.equal(0.02);
    expect(parseCacheDirectives(undefined, undefined, '.05').maxError).to.equal(0.05);
    expect(parseCacheDirectives(undefined, undefined, undefined).maxError).to.equal(undefined);
    for (const bad of ['2', '-0.1', '1e-2', '0x1', 'abc', 'NaN']) expect(() => parseCacheDirectives(undefined, undefined, bad), bad).to.throw(/x-cache-max-error/);
  });
});

describe('error-bound mode: answer equivalence', function () {
  this.timeout(60_000);
  it('compares tool calls and JSON as values, text after normalization, numbers exactly, else by embedding', async () => {
    const embedder = await defaultEmbedder();
    const call = (args: string) => completion({ content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'get_weather', arguments: args } }] });
    expect((await answersEquivalent(call('{"city":"Oslo","unit":"c"}'), call('{ "unit": "c", "city": "Oslo" }'), embedder)).equivalent).to.equal(true);
    expect((await answersEquivalent(call('{"city":"Oslo"}'), call('{"city":"Bergen"}'), embedder)).equivalent).to.equal(false);
    expect((await answersEquivalent(call('{"city":"Oslo"}'), completion({ content: 'It is sunny in Oslo.' }), embedder)).rule).to.equal('tool-calls');
    const json = await answersEquivalent(completion({ content: '{"a":1,"b":[1,2]}' }), completion({ content: '```json\n{"b":[1,2],"a":1}\n```' }), embedder);
    expect(json).to.deep.include({ equivalent: true, rule: 'json' });
    expect((await answersEquivalent(completion({ content: '{"a":1}' }), completion({ content: '{"a":2}' }), embedder)).equivalent).to.equal(false);
    expect(await answersEquivalent(completion({ content: 'Paris is the capital.' }), completion({ content: 'paris   is the CAPITAL' }), embedder)).to.deep.include({ equivalent: true, rule: 'text' });
    const numbers = await answersEquivalent(completion({ content: '100 F is 37.8 C.' }), completion({ content: '100 F is 38.7 C.' }), embedder);
    expect(numbers).to.deep.include({ equivalent: false, rule: 'numbers' });
    const other = await answersEquivalent(completion({ content: 'Paris is the capital city of France.' }), completion({ content: 'Boil an egg for about seven minutes.' }), embedder);
    expect(other).to.deep.include({ equivalent: false, rule: 'embedding' });
    const reworded = await answersEquivalent(
      completion({ content: 'Paris is the capital city of France.' }),
      completion({ content: 'The capital city of France is Paris.' }),
      embedder,
    );
    expect(reworded).to.deep.include({ equivalent: true, rule: 'embedding' });
  });
});

describe('error-bound mode through the gateway (real embedder, verifier, index, store; upstream answers by meaning)', function () {
  this.timeout(300_000);
  let upstream: MeaningUpstream;

  before(async () => {
    upstream = await new MeaningUpstream(GROUPS).start();
  });
  after(async () => upstream?.stop());

  it('keeps the wrong-answer share of hits within the bound on a stream of mixed near-misses, and earns semantic hits', async () => {
    const gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, CACHE_STORE_URL: 'memory://', CACHE_MAX_ERROR_RATE: '0.05', CACHE_VERIFY_MAX_RATE: '0.5' });
    try {
      const t = await replay(gw, upstream, stream(600, 7), {});
      expect(t.semanticHits).to.be.greaterThan(30);
      expect(t.wrongHits / t.hits).to.be.at.most(0.05);
      expect(t.verifications).to.be.at.most(0.5 * t.requests);
    } finally {
      await gw.close();
    }
    // The same stream in threshold mode at a loose threshold on the plain score (no verifier):
    // the near-misses are real ones.
    const loose = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, CACHE_STORE_URL: 'memory://', CACHE_SIMILARITY_THRESHOLD: '0.5', CACHE_GUARD: 'off' });
    try {
      const t = await replay(loose, upstream, stream(600, 7), {});
      expect(t.wrongHits / t.hits).to.be.greaterThan(0.05);
    } finally {
      await loose.close();
    }
  });

  it('keeps verification calls under CACHE_VERIFY_MAX_RATE, and the x-cache-max-error header turns the mode on per request', async () => {
    const gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, CACHE_STORE_URL: 'memory://', CACHE_VERIFY_MAX_RATE: '0.1' });
    try {
      const t = await replay(gw, upstream, stream(300, 11), { 'x-cache-max-error': '0.05' });
      expect(t.verifications).to.be.greaterThan(0);
      expect(t.verifications).to.be.at.most(0.1 * t.requests);
      const counts = gw.cache.verifyCounts;
      expect(counts.granted).to.equal(t.verifications);
      expect(counts.refused).to.be.greaterThan(0);
      const bad = await chat(gw, ask('How do I reverse a list in Python?'), { 'x-cache-max-error': 'lots' });
      expect(bad.status).to.equal(400);
      expect(bad.json.error).to.include({ type: 'invalid_request_error', code: 'invalid_header' });
    } finally {
      await gw.close();
    }
  });

  it('keeps the evidence with the entries in the embedded store across a restart', async () => {
    const env = { UPSTREAM_BASE_URL: upstream.url, DATA_DIR: tempDir(), CACHE_MAX_ERROR_RATE: '0.05', CACHE_VERIFY_MAX_RATE: '0.5' };
    let gw = await startTestGateway(env);
    let before: ReturnType<Gateway['cache']['poolOf']>;
    try {
      await replay(gw, upstream, stream(120, 3), {});
      before = gw.cache.poolOf('default');
      expect(before.observations).to.be.greaterThan(10);
    } finally {
      await gw.close();
    }
    gw = await startTestGateway(env);
    try {
      expect(gw.cache.poolOf('default')).to.deep.equal(before);
    } finally {
      await gw.close();
    }
  });
});

describe('error-bound mode on a shared Redis store (the run\'s own redis-server)', function () {
  this.timeout(300_000);
  let upstream: MeaningUpstream;
  let storeUrl: string;

  before(async function () {
    await requireRedis(this);
    storeUrl = (await freshRedisUrl())!;
    upstream = await new MeaningUpstream(GROUPS).start();
  });
  after(async () => upstream?.stop());

  it('shares evidence: a second gateway sees what the first one learned, live and after its own start', async () => {
    const env = { UPSTREAM_BASE_URL: upstream.url, CACHE_STORE_URL: storeUrl, CACHE_MAX_ERROR_RATE: '0.05', CACHE_VERIFY_MAX_RATE: '0.5' };
    const a = await startTestGateway(env);
    const b = await startTestGateway(env);
    let c: Gateway | undefined;
    try {
      await a.cache.purge();
      await replay(a, upstream, stream(120, 5), {});
      const learned = a.cache.poolOf('default');
      expect(learned.observations).to.be.greaterThan(10);
      // Notices travel over Redis pub/sub: wait for them (bounded).
      for (let i = 0; i < 100 && b.cache.poolOf('default').observations < learned.observations; i++) await new Promise((r) => setTimeout(r, 20));
      expect(b.cache.poolOf('default')).to.deep.equal(learned);
      c = await startTestGateway(env);
      expect(c.cache.poolOf('default')).to.deep.equal(learned);
      await a.cache.purge();
    } finally {
      await a.close();
      await b.close();
      await c?.close();
    }
  });
});
