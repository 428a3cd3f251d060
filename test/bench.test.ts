import path from 'node:path';
import { expect } from 'chai';
import { scoringFor, thresholdGrid } from '../bench/lib/cache-sim.js';
import { readModelDefaults } from '../src/embedding/transformers-embedder.js';
import { startGatewayInProcess } from '../bench/lib/gateway-proc.js';
import { runIndexScale } from '../bench/lib/part-index.js';
import { runLatency } from '../bench/lib/part-latency.js';
import { renderPerf, runPerf } from '../bench/lib/part-perf.js';
import { renderScopes, runScopes } from '../bench/lib/part-scopes.js';
import { calibrate, runQuality, type QualityReport } from '../bench/lib/part-quality.js';
import { runThroughput } from '../bench/lib/part-throughput.js';
import { loadTrafficStreams } from '../bench/lib/part-bound.js';
import { Savings, scoreDecisions, type QualityMetrics } from '../bench/lib/quality.js';
import { calibrations, renderQualityPlot, renderSummary, type BenchReport } from '../bench/lib/report.js';
import { gatewayEnv, tempDataDir } from '../bench/lib/replay.js';
import { SimUpstream } from '../bench/lib/sim-upstream.js';
import { prefix, readProjectWorkload, sequence, type Workload } from '../bench/lib/workload.js';
import { defaultEmbedder } from './helpers/gateway.js';

const MODELS_DIR = path.resolve('models');
const MODEL = 'gpt-4o';

function expectIdentities(m: QualityMetrics): void {
  expect(m.hits + m.misses, 'hits + misses = requests').to.equal(m.requests);
  expect(m.correctHits + m.wrongHits, 'correct + wrong = hits').to.equal(m.hits);
  expect(m.exactHits + m.semanticHits, 'exact + semantic = hits').to.equal(m.hits);
  expect(m.upstreamCalls, 'upstream calls = misses').to.equal(m.misses);
  expect(m.correctHits).to.be.at.most(m.duplicates);
  expect(m.tokensSavedCorrect).to.be.at.most(m.tokensSaved);
  if (m.hits === 0) expect(m.tokensSaved).to.equal(0);
  else expect(m.tokensSaved).to.be.greaterThan(0);
}

function tinyWorkload(): Workload {
  return sequence(
    'tiny',
    'tiny hand-made workload',
    [
      { key: 'a', text: 'How do I reverse a list in Python?', groupKey: 'rev', kind: 'original' },
      { key: 'b', text: 'How can I reverse a Python list?', groupKey: 'rev', kind: 'paraphrase', after: 'a' },
      { key: 'c', text: 'How do I reverse a list in Python?', groupKey: 'rev', kind: 'exact-repeat', after: 'a' },
      { key: 'd', text: 'Convert 100 degrees Fahrenheit to Celsius.', groupKey: 'f', kind: 'original' },
      { key: 'e', text: 'Convert 180 degrees Fahrenheit to Celsius.', groupKey: 'f180', kind: 'near-miss', after: 'd' },
      { key: 'f', text: 'Write a haiku about autumn leaves.', groupKey: 'h', kind: 'original' },
    ],
    7,
  );
}

describe('bench (quick mode on tiny inputs)', function () {
  this.timeout(60_000);
  const saved = process.env.BENCH_SILENT;
  before(() => {
    process.env.BENCH_SILENT = '1';
  });
  after(() => {
    if (saved === undefined) delete process.env.BENCH_SILENT;
    else process.env.BENCH_SILENT = saved;
  });

  it('builds workloads whose ground truth points backwards', () => {
    const w = readProjectWorkload(path.resolve('data/workloads/chat-assistant.jsonl'), 42);
    expect(w.items.length).to.be.within(150, 300);
    for (const item of w.items) {
      if (item.duplicateOf !== null) {
        expect(item.duplicateOf).to.be.lessThan(item.index);
        expect(w.items[item.duplicateOf]!.group).to.equal(item.group);
      }
      if (item.kind === 'near-miss') expect(item.duplicateOf).to.equal(null);
    }
    expect(new Set(w.items.map((x) => x.kind))).to.include.members(['original', 'paraphrase', 'exact-repeat', 'near-miss']);
    // Same seed, same sequence.
    expect(readProjectWorkload(path.resolve('data/workloads/chat-assistant.jsonl'), 42).items.map((x) => x.text)).to.deep.equal(w.items.map((x) => x.text));
  });

  it('scores decisions with the accounting identities', () => {
    const w = tinyWorkload();
    const savings = new Savings(MODEL);
    const exactIdx = w.items.find((x) => x.kind === 'exact-repeat')!.index;
    const decisions = w.items.map((x) =>
      x.index === exactIdx ? { status: 'hit' as const, source: x.duplicateOf! } : { status: 'miss' as const },
    );
    const m = scoreDecisions(w, decisions, savings);
    expectIdentities(m);
    expect(m.hits).to.equal(1);
    expect(m.correctHits).to.equal(1);
    expect(m.precision).to.equal(1);
    expect(m.duplicates).to.equal(2);
    expect(m.recall).to.equal(0.5);
  });

  let quality: QualityReport;
  it('replays workloads through the gateway and sweeps thresholds offline', async () => {
    const embedder = await defaultEmbedder();
    const project = prefix(readProjectWorkload(path.resolve('data/workloads/chat-assistant.jsonl'), 42), 16);
    const grid = thresholdGrid(0.8, 0.95, 0.05);
    quality = await runQuality({
      workloads: [tinyWorkload(), project],
      missing: [],
      embedder,
      modelsDir: MODELS_DIR,
      threshold: 0.8,
      guard: true,
      // As the gateway scores candidates for this model, so the offline replay can match it.
      scoring: scoringFor(readModelDefaults(MODELS_DIR, embedder.name)),
      httpRequests: 12,
      upstream: { latencyMs: { min: 1, max: 4 }, seed: 1 },
      pricingModel: MODEL,
      thresholds: grid,
    });
    expect(quality.workloads).to.have.length(2);
    for (const w of quality.workloads) {
      expect(w.http.requests).to.equal(Math.min(12, w.requests));
      expect(w.http.errors).to.equal(0);
      expect(w.http.unattributed).to.equal(0);
      expectIdentities(w.http.metrics);
      expectIdentities(w.offline);
      // The offline replay is the same decision rule: it should match the HTTP pass.
      expect(w.http.agreementWithOffline).to.be.at.least(0.9);
      expect(w.http.agreementWithOffline).to.be.at.most(1);
      expect(w.sweep).to.have.length(grid.length * 2);
      for (const p of w.sweep) expectIdentities(p.metrics);
    }
    const tiny = quality.workloads[0]!.http.metrics;
    expect(tiny.exactHits, 'the verbatim repeat is an exact hit').to.equal(1);
    expect(quality.pooledSweep).to.have.length(grid.length * 2);
    for (const p of quality.pooledSweep) expectIdentities(p.metrics);
    const c = calibrate(quality.pooledSweep, 0.5, true);
    if (c.threshold !== undefined) expect(grid).to.include(c.threshold);
  });

  it('measures latency of hits, misses and direct calls', async () => {
    const embedder = await defaultEmbedder();
    const upstream = await new SimUpstream({ latencyMs: { min: 2, max: 2 } }).start();
    const gw = await startGatewayInProcess(
      gatewayEnv({ DATA_DIR: tempDataDir(), CACHE_STORE_URL: 'memory://', UPSTREAM_BASE_URL: upstream.url, LOG_LEVEL: 'silent', MODELS_DIR: MODELS_DIR, CACHE_SIMILARITY_THRESHOLD: '0.8' }),
      embedder,
    );
    try {
      const r = await runLatency({ gateway: gw, upstream, rounds: 4, model: MODEL, modelsDir: MODELS_DIR, seed: 1 });
      expect(Object.keys(r.kinds).sort()).to.deep.equal(['direct', 'exact-hit', 'miss', 'semantic-hit']);
      const counted = Object.values(r.kinds).reduce((a, k) => a + k.count, 0);
      expect(counted + r.misclassified).to.equal(4 * 4);
      for (const k of Object.values(r.kinds)) expect(k.count).to.be.at.most(4);
      expect(r.missOverhead).to.have.all.keys('p50DiffMs', 'p50Ratio', 'pairedMedianDiffMs', 'p95DiffMs');
    } finally {
      await gw.close();
      await upstream.stop();
    }
  });

  it('runs time-bounded throughput cells', async () => {
    const embedder = await defaultEmbedder();
    const upstream = await new SimUpstream({ latencyMs: { min: 2, max: 2 } }).start();
    const gw = await startGatewayInProcess(
      gatewayEnv({ DATA_DIR: tempDataDir(), CACHE_STORE_URL: 'memory://', UPSTREAM_BASE_URL: upstream.url, LOG_LEVEL: 'silent', MODELS_DIR: MODELS_DIR, CACHE_SIMILARITY_THRESHOLD: '0.8' }),
      embedder,
    );
    try {
      const callsBefore = upstream.calls;
      const r = await runThroughput({ gateway: gw, upstreamLatencyMs: 2, concurrency: [1, 2], durationSec: 0.3, model: MODEL, modelsDir: MODELS_DIR, seed: 1 });
      expect(r.cells.map((c) => `${c.kind}@${c.concurrency}`)).to.deep.equal(['exact-hit@1', 'exact-hit@2', 'semantic-hit@1', 'semantic-hit@2', 'miss@1', 'miss@2']);
      for (const c of r.cells) {
        expect(c.requests).to.be.a('number');
        const answered = Object.entries(c.statuses);
        const expected = c.kind === 'exact-hit' ? 'hit' : c.kind;
        for (const [status] of answered) expect(status).to.equal(expected);
      }
      // Every miss answered went upstream (the probes' seeding misses are counted in `before`).
      const missesAnswered = r.cells.filter((c) => c.kind === 'miss').reduce((a, c) => a + (c.statuses.miss ?? 0), 0);
      expect(upstream.calls - callsBefore).to.be.at.least(missesAnswered);
      expect(r.gatewayRssBytesEnd).to.be.greaterThan(0);
    } finally {
      await gw.close();
      await upstream.stop();
    }
  });

  it('measures the gateway against the bare proxy and the fixed-JSON server, as ratios with CPU per request', async () => {
    const r = await runPerf({
      modelsDir: MODELS_DIR,
      model: MODEL,
      upstreamMs: 5,
      durationSec: 0.5,
      sequentialRounds: 5,
      missConnections: 4,
      hitConnections: 4,
      seed: 1,
      gatewayEnv: { LOG_LEVEL: 'silent', CACHE_SIMILARITY_THRESHOLD: '0.8' },
    });
    expect(r.load.map((c) => `${c.server}/${c.kind}`)).to.deep.equal(['upstream/miss', 'bare proxy/miss', 'gateway/miss', 'fixed JSON/fixed', 'gateway/exact-hit', 'gateway/semantic-hit']);
    for (const c of r.load) {
      expect(c.requests, c.server).to.be.greaterThan(0);
      expect(c.errors, c.server).to.equal(0);
      expect(c.cpuMsPerRequest, c.server).to.be.at.least(0);
    }
    // The gateway's cells are what they say: nothing but misses, hits, semantic hits.
    expect(Object.keys(r.load[2]!.statuses!)).to.deep.equal(['miss']);
    expect(Object.keys(r.load[4]!.statuses!)).to.deep.equal(['hit']);
    expect(Object.keys(r.load[5]!.statuses!)).to.deep.equal(['semantic-hit']);
    expect(r.figures).to.have.length(6);
    for (const f of r.figures) expect(Number.isFinite(f.value), f.name).to.equal(true);
    expect(renderPerf(r).join('\n')).to.include('x direct').and.include('x fixed JSON');
  });

  it('compares scope-filtered and scope-partitioned search on a tiny index', async () => {
    const r = await runScopes({ entries: 300, scopeCounts: [1, 50], dimension: 8, queries: 30, flatLimit: 20, settings: { m: 16, efConstruction: 100, efSearch: 64 }, seed: 1 });
    expect(r.cells.map((c) => `${c.scopes}/${c.method.split(' ')[0]}`)).to.deep.equal(['1/global', '1/partitioned', '50/global', '50/partitioned']);
    // Small scopes are scanned exactly: the partitioned index finds the true in-scope neighbour.
    for (const c of r.cells.filter((x) => x.method.startsWith('partitioned') && x.scopes === 50)) expect(c.recallAt1).to.equal(1);
    expect(renderScopes(r).join('\n')).to.include('| 50 |');
  });

  it('measures a tiny index against brute force', async () => {
    const r = await runIndexScale({ dimensions: [8], sizes: [300], distributions: ['uniform', 'clustered'], settings: { m: 16, efConstruction: 200, efSearch: 64 }, queries: 20, efSweep: [16, 64], seed: 1 });
    expect(r.cells).to.have.length(2);
    for (const c of r.cells) {
      expect(c.entries).to.equal(300);
      expect(c.recallAt1Near).to.be.within(0, 1);
      expect(c.recallAt1Fresh).to.be.within(0, 1);
      expect(c.indexFileMiB).to.be.greaterThan(0);
    }
    expect(r.efSweep).to.have.length(2);
    expect(r.efSweep[0]!.points.map((p) => p.efSearch)).to.deep.equal([16, 64]);
  });

  it('renders the summary and the plot', () => {
    const report: BenchReport = {
      meta: {
        generatedAt: new Date().toISOString(),
        gitSha: 'test',
        gitDirty: false,
        mode: 'quick',
        seed: 1,
        node: process.version,
        cpus: 1,
        cpuModel: 'test',
        embedModel: quality.embedModel,
        dimension: quality.dimension,
        threshold: quality.threshold,
        guard: true,
        hnsw: { m: 16, efConstruction: 200, efSearch: 64 },
      },
      quality,
      calibration: calibrations(quality),
    };
    const md = renderSummary(report);
    expect(md).to.include('## 1. Hit quality through the gateway');
    expect(md).to.include('## 2. Threshold sweep and calibration');
    expect(md).to.include('precision-vs-hit-ratio.svg');
    const svg = renderQualityPlot(quality);
    expect(svg.startsWith('<svg')).to.equal(true);
    expect(svg).to.include('<path');
    expect(svg.trim().endsWith('</svg>')).to.equal(true);
  });
});

describe('bench part bound: traffic streams from the project data', () => {
  it('keeps labelled duplicates in one meaning group and near-misses apart, in a reproducible stream', () => {
    const root = path.resolve('.');
    const streams = loadTrafficStreams(root, 300, 42);
    expect(streams.map((s) => s.name)).to.deep.equal(['chat-assistant', 'adversarial-dev', 'adversarial-test']);
    const dev = streams.find((s) => s.name === 'adversarial-dev')!;
    expect(dev.requests).to.have.length(300);
    expect(loadTrafficStreams(root, 300, 42)[1]!.requests).to.deep.equal(dev.requests);
    // A request's group is the one of the labelled pair its wording came from.
    const groupOfText = new Map<string, number>();
    for (const [t, g] of dev.requests) {
      if (groupOfText.has(t)) expect(groupOfText.get(t), t).to.equal(g);
      groupOfText.set(t, g);
    }
    const groups = new Set(dev.requests.map(([, g]) => g));
    expect(groups.size).to.be.greaterThan(30);
    // Zipf popularity: the most asked group is asked far more than the median one.
    const counts = [...groups].map((g) => dev.requests.filter(([, x]) => x === g).length).sort((a, b) => b - a);
    expect(counts[0]!).to.be.greaterThan(5 * counts[Math.floor(counts.length / 2)]!);
  });
});
