import { expect } from 'chai';
import {
  LATENCY_SAMPLES_PER_MINUTE,
  StatsCollector,
  WINDOW_MINUTES,
  weightedPercentile,
  type StatsEvent,
} from '../src/observability/stats.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const MIN = 60_000;

function clock(start = T0) {
  let t = start;
  return { now: () => t, set: (ms: number) => (t = ms), advance: (ms: number) => (t += ms) };
}

let seq = 0;
const ev = (over: Partial<StatsEvent> = {}): StatsEvent => ({
  requestId: `req-${++seq}`,
  tenant: 'tenant-hash-1',
  model: 'gpt-4o',
  cacheStatus: 'miss',
  status: 200,
  latencyMs: 100,
  ...over,
});

describe('observability/stats', () => {
  it('an empty collector gives an empty, well-formed snapshot', () => {
    const c = clock();
    const s = new StatsCollector({ now: c.now }).snapshot();
    expect(s.generatedAt).to.equal('2026-03-01T12:00:00.000Z');
    expect(s.windowMinutes).to.equal(1440);
    expect(s.from).to.equal('2026-02-28T12:01:00.000Z');
    expect(s.series).to.deep.equal([]);
    expect(s.recent).to.deep.equal([]);
    expect(s.topModels).to.deep.equal([]);
    expect(s.totals).to.deep.equal({
      requests: 0,
      hits: 0,
      semanticHits: 0,
      misses: 0,
      bypasses: 0,
      errors: 0,
      hitRatio: null,
      promptTokens: 0,
      completionTokens: 0,
      savedTokens: 0,
      costUsd: 0,
      savedUsd: 0,
      p50Ms: null,
      p95Ms: null,
    });
    expect(s).to.not.have.property('lifetime');
  });

  it('buckets requests per minute with counts, money, hit ratio and latency percentiles', () => {
    const c = clock(T0 + 5 * MIN + 10_000);
    const stats = new StatsCollector({ now: c.now });
    // Minute 12:03: latencies 1..100 ms; 60 misses, 30 exact hits, 10 semantic hits.
    for (let i = 1; i <= 100; i++) {
      const cacheStatus = i <= 60 ? 'miss' : i <= 90 ? 'hit' : 'semantic-hit';
      stats.record(
        ev({
          time: T0 + 3 * MIN + i * 100,
          cacheStatus,
          latencyMs: i,
          promptTokens: cacheStatus === 'miss' ? 100 : 0,
          completionTokens: cacheStatus === 'miss' ? 20 : 0,
          savedTokens: cacheStatus === 'miss' ? 0 : 120,
          costMicroUsd: cacheStatus === 'miss' ? 450 : 0,
          savedMicroUsd: cacheStatus === 'miss' ? 0 : 450,
        }),
      );
    }
    // Minute 12:05: a bypass that failed.
    stats.record(ev({ time: T0 + 5 * MIN, cacheStatus: 'bypass', status: 502, latencyMs: 2000 }));

    const s = stats.snapshot();
    expect(s.series.map((p) => p.t)).to.deep.equal(['2026-03-01T12:03:00.000Z', '2026-03-01T12:05:00.000Z']);
    const [m3, m5] = s.series;
    expect(m3).to.deep.equal({
      t: '2026-03-01T12:03:00.000Z',
      requests: 100,
      hits: 30,
      semanticHits: 10,
      misses: 60,
      bypasses: 0,
      errors: 0,
      hitRatio: 0.4,
      promptTokens: 6000,
      completionTokens: 1200,
      savedTokens: 4800,
      costUsd: 0.027,
      savedUsd: 0.018,
      p50Ms: 50,
      p95Ms: 95,
    });
    expect(m5).to.include({ requests: 1, bypasses: 1, errors: 1, hitRatio: null, p50Ms: 2000, p95Ms: 2000 });
    expect(s.totals).to.include({ requests: 101, hits: 30, semanticHits: 10, misses: 60, bypasses: 1, errors: 1, hitRatio: 0.4 });
    expect(s.totals.costUsd).to.equal(0.027);
    expect(s.totals.savedUsd).to.equal(0.018);
    // 101 samples of equal weight: rank 50.5 -> the 51st (51 ms); rank 95.95 -> the 96th (96 ms).
    expect(s.totals.p50Ms).to.equal(51);
    expect(s.totals.p95Ms).to.equal(96);
  });

  it('forgets minutes older than 24 h, also when their ring slot is reused', () => {
    const c = clock();
    const stats = new StatsCollector({ now: c.now });
    stats.record(ev({ latencyMs: 5 }));
    c.advance(WINDOW_MINUTES * MIN - 1);
    expect(stats.snapshot().totals.requests).to.equal(1); // still inside the window
    c.advance(1);
    expect(stats.snapshot().totals.requests).to.equal(0); // exactly one day later: gone
    // Same ring slot, a day later: must start from zero, not add to yesterday.
    stats.record(ev({ latencyMs: 7 }));
    const s = stats.snapshot();
    expect(s.series).to.have.length(1);
    expect(s.series[0]).to.include({ t: '2026-03-02T12:00:00.000Z', requests: 1, p50Ms: 7 });
  });

  it('drops events older than the window from the series but still lists them as recent', () => {
    const c = clock();
    const stats = new StatsCollector({ now: c.now });
    stats.record(ev({ time: T0 - WINDOW_MINUTES * MIN, requestId: 'old' }));
    const s = stats.snapshot();
    expect(s.series).to.deep.equal([]);
    expect(s.recent.map((r) => r.requestId)).to.deep.equal(['old']);
  });

  it('puts a future timestamp at now', () => {
    const c = clock();
    const stats = new StatsCollector({ now: c.now });
    stats.record(ev({ time: T0 + 10 * MIN }));
    expect(stats.snapshot().series.map((p) => p.t)).to.deep.equal(['2026-03-01T12:00:00.000Z']);
  });

  it('keeps a bounded list of recent requests, newest first', () => {
    const c = clock();
    const stats = new StatsCollector({ now: c.now, recentLimit: 3 });
    for (let i = 1; i <= 5; i++) {
      stats.record(
        ev({
          requestId: `r${i}`,
          cacheStatus: i === 5 ? 'semantic-hit' : 'miss',
          similarity: i === 5 ? 0.93 : undefined,
          savedMicroUsd: i === 5 ? 1234 : 0,
          savedTokens: i === 5 ? 77 : 0,
          costMicroUsd: i === 5 ? 0 : 10,
          latencyMs: 12.34567,
        }),
      );
    }
    const recent = stats.snapshot().recent;
    expect(recent.map((r) => r.requestId)).to.deep.equal(['r5', 'r4', 'r3']);
    expect(recent[0]).to.deep.equal({
      requestId: 'r5',
      t: '2026-03-01T12:00:00.000Z',
      tenant: 'tenant-hash-1',
      model: 'gpt-4o',
      cacheStatus: 'semantic-hit',
      status: 200,
      similarity: 0.93,
      latencyMs: 12.346,
      costUsd: 0,
      savedUsd: 0.001234,
      savedTokens: 77,
    });
    expect(recent[1]!.similarity).to.equal(null);
    expect(recent[1]!.costUsd).to.equal(0.00001);
  });

  it('never keeps prompt text unless LOG_PROMPTS is on, and then at most 500 characters', () => {
    const c = clock();
    const off = new StatsCollector({ now: c.now });
    off.record(ev({ prompt: 'secret question' }));
    expect(off.snapshot().recent[0]).to.not.have.property('prompt');
    expect(JSON.stringify(off.snapshot())).to.not.contain('secret question');

    const on = new StatsCollector({ now: c.now, logPrompts: true });
    on.record(ev({ prompt: 'visible question' }));
    on.record(ev({ prompt: 'x'.repeat(2000) }));
    const recent = on.snapshot().recent;
    expect(recent[1]!.prompt).to.equal('visible question');
    expect(recent[0]!.prompt).to.have.length(500);
  });

  it('ranks top models by requests over the window', () => {
    const c = clock();
    const stats = new StatsCollector({ now: c.now });
    for (let i = 0; i < 3; i++) stats.record(ev({ model: 'gpt-4o-mini', cacheStatus: 'hit', savedMicroUsd: 100 }));
    for (let i = 0; i < 5; i++) stats.record(ev({ model: 'gpt-4o', costMicroUsd: 2500 }));
    c.advance(MIN);
    stats.record(ev({ model: 'gpt-4o-mini', cacheStatus: 'miss', costMicroUsd: 1 }));
    stats.record(ev({ model: 'claude-3-5-haiku' }));
    const top = stats.snapshot().topModels;
    expect(top.map((m) => [m.model, m.requests])).to.deep.equal([
      ['gpt-4o', 5],
      ['gpt-4o-mini', 4],
      ['claude-3-5-haiku', 1],
    ]);
    expect(top[1]).to.include({ hits: 3, misses: 1, hitRatio: 0.75, savedUsd: 0.0003, costUsd: 0.000001 });
    expect(top[0]!.costUsd).to.equal(0.0125);
  });

  it('includes lifetime totals when given', () => {
    const stats = new StatsCollector({ now: clock().now });
    const lifetime = {
      requests: 9, hits: 1, semanticHits: 2, misses: 6, bypasses: 0, errors: 0, promptTokens: 1, completionTokens: 2,
      savedTokens: 3, costMicroUsd: 4, savedMicroUsd: 5, costUsd: 0.000004, savedUsd: 0.000005,
    };
    expect(stats.snapshot({ lifetime }).lifetime).to.deep.equal(lifetime);
  });

  it('samples latency once a minute is busy, but counts every request', () => {
    const c = clock();
    // A deterministic "random" that never replaces a kept sample: the reservoir keeps the first 256.
    const stats = new StatsCollector({ now: c.now, random: () => 0.999999, recentLimit: 0 });
    for (let i = 1; i <= 1000; i++) stats.record(ev({ latencyMs: i }));
    expect(stats.snapshot().series[0]!.requests).to.equal(1000);
    // The kept samples are 1..256: p50 of those is 128.
    expect(stats.snapshot().series[0]!.p50Ms).to.equal(LATENCY_SAMPLES_PER_MINUTE / 2);
    expect(stats.snapshot().recent).to.deep.equal([]);
  });

  it('weights a busy minute\'s samples by the requests they stand for', () => {
    // 1 sample standing for 99 requests at 10 ms, 1 sample for 1 request at 1000 ms.
    expect(weightedPercentile([{ value: 1000, weight: 1 }, { value: 10, weight: 99 }], 0.95)).to.equal(10);
    expect(weightedPercentile([{ value: 1000, weight: 1 }, { value: 10, weight: 1 }], 0.95)).to.equal(1000);
    expect(weightedPercentile([], 0.5)).to.equal(null);
  });

  it('the snapshot survives a JSON round trip unchanged', () => {
    const c = clock();
    const stats = new StatsCollector({ now: c.now, logPrompts: true });
    stats.record(ev({ cacheStatus: 'semantic-hit', similarity: 0.91, prompt: 'p', savedMicroUsd: 5 }));
    const s = stats.snapshot();
    expect(JSON.parse(JSON.stringify(s))).to.deep.equal(s);
  });
});
