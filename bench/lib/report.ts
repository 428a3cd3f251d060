/** The bench's raw report shape, its markdown summary and its plot. */
import type { HnswSettings } from '../../src/vector-index/hnsw-index.js';
import type { IndexReport } from './part-index.js';
import type { LatencyReport } from './part-latency.js';
import { renderGuardrails, type GuardrailsReport } from './part-guardrails.js';
import { calibrate, type Calibration, type QualityReport, type SweepPoint } from './part-quality.js';
import type { ThroughputReport } from './part-throughput.js';
import { renderBound, type BoundReport } from './part-bound.js';
import { renderPerf, type PerfReport } from './part-perf.js';
import { renderScopes, type ScopesReport } from './part-scopes.js';
import { renderMemory, type MemoryReport } from './part-memory.js';
import type { QualityMetrics } from './quality.js';
import { renderPlot, type PlotSeries } from './svg-plot.js';

export interface BenchMeta {
  generatedAt: string;
  gitSha: string;
  gitDirty: boolean;
  mode: string;
  seed: number;
  node: string;
  cpus: number;
  cpuModel: string;
  embedModel: string;
  dimension: number;
  threshold: number;
  /** What the threshold is compared with: embedding cosine or the hybrid score. */
  scoring?: string;
  guard: boolean;
  hnsw: HnswSettings;
  durationSec?: number;
}

export interface BenchReport {
  meta: BenchMeta;
  quality?: QualityReport;
  calibration?: Calibration[];
  latency?: LatencyReport;
  throughput?: ThroughputReport;
  perf?: PerfReport;
  scopes?: ScopesReport;
  memory?: MemoryReport;
  index?: IndexReport;
  bound?: BoundReport;
  guardrails?: GuardrailsReport;
}

export const PLOT_FILE = 'precision-vs-hit-ratio.svg';
export const CALIBRATION_TARGETS = [0.9, 0.95, 0.97, 0.98, 0.99];

const pct = (x: number | undefined, d = 1) => (x === undefined || Number.isNaN(x) ? 'n/a' : `${(100 * x).toFixed(d)}%`);
const num = (x: number | undefined, d = 1) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
const usd = (x: number) => `$${x.toFixed(4)}`;

function qualityRow(name: string, m: QualityMetrics, extra: string[] = []): string {
  return `| ${[
    name,
    m.requests,
    pct(m.hitRate),
    `${m.exactHits} / ${m.semanticHits}`,
    pct(m.precision),
    pct(m.recall),
    num(m.f1, 3),
    num(m.wrongPer1000),
    m.upstreamCalls,
    m.tokensSaved,
    usd(m.usdSaved),
    ...extra,
  ].join(' | ')} |`;
}

const QUALITY_HEAD = '| workload | requests | hit rate | exact / semantic hits | precision | recall | F1 | wrong answers / 1k | upstream calls | tokens saved | $ saved |';
const QUALITY_SEP = '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |';

export function calibrations(q: QualityReport): Calibration[] {
  return [true, false].flatMap((guard) => CALIBRATION_TARGETS.map((t) => calibrate(q.pooledSweep, t, guard)));
}

export function renderQualityPlot(q: QualityReport): string {
  const series: PlotSeries[] = [];
  const points = (sweep: SweepPoint[], guard: boolean, labels: boolean) =>
    sweep
      .filter((p) => p.guard === guard)
      .map((p) => ({
        x: p.metrics.hitRate,
        y: p.metrics.precision,
        mark: Math.abs(p.threshold - Math.round(q.threshold * 1e4) / 1e4) < 1e-9,
        label: labels && [0.7, 0.8, 0.9, 0.95].some((t) => Math.abs(t - p.threshold) < 1e-9) ? p.threshold.toFixed(2) : undefined,
      }));
  q.workloads.forEach((w, i) => {
    series.push({ name: `${w.name} (guard on)`, colour: i, points: points(w.sweep, true, false) });
    series.push({ name: `${w.name} (guard off)`, colour: i, dashed: true, points: points(w.sweep, false, false) });
  });
  series.push({ name: 'all pooled (guard on)', colour: 8, width: 3, points: points(q.pooledSweep, true, true) });
  series.push({ name: 'all pooled (guard off)', colour: 8, width: 3, dashed: true, points: points(q.pooledSweep, false, true) });
  return renderPlot({
    title: `Precision vs cache-hit ratio, threshold ${q.pooledSweep[0]?.threshold ?? ''} to ${q.pooledSweep[q.pooledSweep.length - 1]?.threshold ?? ''}`,
    subtitle: `${q.embedModel} (dim ${q.dimension}); offline replay of each workload; labels on the pooled line are thresholds`,
    xLabel: 'hit ratio (hits / requests)',
    yLabel: 'precision (correct hits / hits)',
    series,
  });
}

export function renderSummary(r: BenchReport): string {
  const L: string[] = [];
  const m = r.meta;
  L.push(`# Bench results ${m.generatedAt.slice(0, 10)} (${m.gitSha}${m.gitDirty ? ', uncommitted changes' : ''})`, '');
  L.push(
    `Mode **${m.mode}**, seed ${m.seed}; Node ${m.node} on ${m.cpus} x ${m.cpuModel}. Embedding model \`${m.embedModel}\` (dim ${m.dimension}), ` +
      `threshold ${m.threshold}${m.scoring ? ` (on the ${m.scoring} score)` : ''}, guard ${m.guard ? 'on' : 'off'}, HNSW M=${m.hnsw.m} efConstruction=${m.hnsw.efConstruction} efSearch=${m.hnsw.efSearch}.` +
      (m.durationSec !== undefined ? ` Took ${(m.durationSec / 60).toFixed(1)} min.` : ''),
  );
  L.push('Timings are from one shared, noisy 2-core machine: compare within a table (same run), not across runs. Raw numbers: `results.json`.', '');

  const q = r.quality;
  if (q) {
    L.push('## 1. Hit quality through the gateway', '');
    L.push(
      `Each workload replayed in order over HTTP through its own gateway (real embedder, HNSW index, memory store) against a simulated ` +
        `OpenAI-compatible upstream on loopback (${q.upstream.latencyMs.min}-${q.upstream.latencyMs.max} ms per call, seeded, token-by-token streams; ` +
        `half the requests stream). A hit is correct only when the answer served was stored for a true duplicate. Tokens (tiktoken) and dollars ` +
        `are what the hits saved at \`${q.pricingModel}\` prices (prompt + the served answer's completion).`,
      '',
    );
    L.push(`${QUALITY_HEAD} agrees with offline |`, `${QUALITY_SEP} --- |`);
    for (const w of q.workloads) L.push(qualityRow(w.name, w.http.metrics, [pct(w.http.agreementWithOffline)]));
    L.push('');
    L.push('Client latency in this pass (realistic upstream):', '');
    L.push('| workload | hit p50 / p95 ms | miss p50 / p95 ms |', '| --- | --- | --- |');
    for (const w of q.workloads) {
      const h = w.http.latencyMs;
      L.push(`| ${w.name} | ${h.hit.count ? `${num(h.hit.p50)} / ${num(h.hit.p95)}` : 'n/a'} | ${num(h.miss.p50)} / ${num(h.miss.p95)} |`);
    }
    L.push('');
    L.push(`Whole workloads at the same settings, replayed offline on the recorded similarities (the sweep below uses the same replay; "agrees with offline" above is its match with the HTTP pass):`, '');
    L.push(QUALITY_HEAD, QUALITY_SEP);
    for (const w of q.workloads) L.push(qualityRow(w.name, w.offline));
    L.push('');
    L.push('Workloads:');
    for (const w of q.workloads) L.push(`- **${w.name}**: ${w.description}. Kinds: ${Object.entries(w.kinds).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
    if (q.missing.length) L.push(`- Not found (skipped): ${q.missing.join(', ')}.`);
    L.push('');
    L.push('Examples of hits counted wrong at the configured settings (cached prompt -> new prompt). In the third-party pair sets some are unlabelled paraphrases across pairs, so their precision is a lower bound; the project workload is labelled by hand.', '');
    for (const w of q.workloads) {
      for (const e of w.wrongExamples) L.push(`- ${w.name}, similarity ${e.similarity.toFixed(3)}: "${e.cached.slice(0, 100)}" -> "${e.asked.slice(0, 100)}"`);
    }
    L.push('');

    L.push('## 2. Threshold sweep and calibration', '');
    L.push(`![precision vs hit ratio](${PLOT_FILE})`, '');
    L.push('All workloads pooled (offline replay; every threshold is its own replay, since what is stored depends on earlier decisions):', '');
    L.push('| threshold | hit rate (guard on) | precision | recall | wrong / 1k | hit rate (guard off) | precision | recall | wrong / 1k |');
    L.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    const on = q.pooledSweep.filter((p) => p.guard);
    for (const p of on) {
      const off = q.pooledSweep.find((x) => !x.guard && x.threshold === p.threshold)!;
      const a = p.metrics;
      const b = off.metrics;
      const mark = Math.abs(p.threshold - Math.round(q.threshold * 1e4) / 1e4) < 1e-9 ? ' **(configured)**' : '';
      L.push(`| ${p.threshold}${mark} | ${pct(a.hitRate)} | ${pct(a.precision)} | ${pct(a.recall)} | ${num(a.wrongPer1000)} | ${pct(b.hitRate)} | ${pct(b.precision)} | ${pct(b.recall)} | ${num(b.wrongPer1000)} |`);
    }
    L.push('');
    const cal = r.calibration ?? calibrations(q);
    L.push('Calibration (`make calibrate TARGET_PRECISION=...` does this on a finer grid): the threshold with the highest pooled hit ratio whose pooled precision meets the target.', '');
    L.push('| target precision | guard | threshold | hit ratio | precision | recall |', '| --- | --- | --- | --- | --- | --- |');
    for (const c of cal) L.push(`| ${c.targetPrecision} | ${c.guard ? 'on' : 'off'} | ${c.threshold ?? 'not reached'} | ${pct(c.hitRate)} | ${pct(c.precision)} | ${pct(c.recall)} |`);
    L.push('');
  }

  if (r.bound) {
    L.push('## Error-bound mode against static thresholds', '');
    L.push(renderBound(r.bound), '');
  }

  const lat = r.latency;
  if (lat) {
    L.push('## 3. Latency and overhead', '');
    L.push(`${lat.rounds} rounds, each one exact hit, one semantic hit, one miss and one direct upstream call in rotating order; non-streaming; upstream answers after a fixed ${lat.upstreamLatencyMs} ms. Gateway: ${lat.gatewayMode}.`, '');
    L.push('| request | n | p50 ms | p95 ms | p99 ms |', '| --- | --- | --- | --- | --- |');
    for (const [k, s] of Object.entries(lat.kinds)) L.push(`| ${k} | ${s.count} | ${num(s.p50, 2)} | ${num(s.p95, 2)} | ${num(s.p99, 2)} |`);
    L.push('');
    const o = lat.missOverhead;
    L.push(
      `Gateway overhead on a miss: p50 ${num(o.p50DiffMs, 2)} ms (miss / direct = ${num(o.p50Ratio, 3)}x); median of per-round differences ${num(o.pairedMedianDiffMs, 2)} ms; p95 difference ${num(o.p95DiffMs, 2)} ms.` +
        (lat.misclassified ? ` ${lat.misclassified} requests answered with another cache status than intended were left out.` : ''),
      '',
    );
  }

  const tp = r.throughput;
  if (tp) {
    L.push('## 4. Throughput', '');
    L.push(`autocannon on loopback, ${tp.cells[0]?.durationSec ?? '?'} s per cell (its percentiles have 1 ms resolution; the mean does not); misses go to an upstream answering after a fixed ${tp.upstreamLatencyMs} ms. CPU and RSS: ${tp.gatewayMode}.`, '');
    L.push('| requests | concurrency | req/s | mean ms | p50 ms | p90 ms | p99 ms | gateway CPU (cores) | answered as | errors |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const c of tp.cells) {
      const st = Object.entries(c.statuses).map(([k, v]) => `${k} ${v}`).join(', ');
      L.push(`| ${c.kind} | ${c.concurrency} | ${num(c.requestsPerSec, 0)} | ${num(c.latencyMs.mean, 2)} | ${c.latencyMs.p50} | ${c.latencyMs.p90} | ${c.latencyMs.p99} | ${num(c.gatewayCpuCores, 2)} | ${st} | ${c.errors + c.non2xx} |`);
    }
    L.push('', `Gateway RSS at the end: ${(tp.gatewayRssBytesEnd / 1048576).toFixed(0)} MiB; gateway CPU over all cells: ${num(tp.gatewayCpuSecondsTotal, 1)} s.`, '');
  }

  if (r.perf) L.push(...renderPerf(r.perf));
  if (r.scopes) L.push(...renderScopes(r.scopes));
  if (r.memory) L.push(...renderMemory(r.memory));

  const ix = r.index;
  if (ix) {
    L.push('## 5. Index scale', '');
    L.push(
      `The gateway's VectorIndex (hnswlib, cosine) with M=${ix.settings.m}, efConstruction=${ix.settings.efConstruction}, efSearch=${ix.settings.efSearch}; seeded vectors. ` +
        `recall@1 vs brute force over ${ix.queries} queries of each kind: "near" = a stored vector plus noise (cosine ~0.9, a paraphrase), "fresh" = a new vector from the same distribution. ` +
        'Search time is one k=1 query. RSS growth is noisy; the index file is the exact payload. ' +
        'Fresh queries among uniform random vectors have no meaningful nearest neighbour (every cosine is near 0), so a wrong top-1 there cannot turn into a hit; the near column is the one that matters for a cache.',
      '',
    );
    L.push('| dim | vectors | entries | insert s | insert us/entry | search p50 us | search p99 us | recall@1 near | recall@1 fresh | brute force ms/query | RSS growth MiB | index file MiB |');
    L.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const c of ix.cells) {
      L.push(`| ${c.dimension} | ${c.distribution} | ${c.entries.toLocaleString('en-US')} | ${num(c.insertSec, 1)} | ${num(c.insertUsPerEntry, 0)} | ${num(c.searchUsP50, 0)} | ${num(c.searchUsP99, 0)} | ${num(c.recallAt1Near, 3)} | ${num(c.recallAt1Fresh, 3)} | ${num(c.bruteForceMsPerQuery, 2)} | ${num(c.rssGrowthMiB, 0)} | ${num(c.indexFileMiB, 1)} |`);
    }
    L.push('');
    for (const s of ix.efSweep) {
      L.push(`efSearch sweep (dim ${s.dimension}, ${s.distribution}, ${s.entries.toLocaleString('en-US')} entries):`, '');
      L.push('| efSearch | recall@1 near | recall@1 fresh | search p50 us |', '| --- | --- | --- | --- |');
      for (const p of s.points) L.push(`| ${p.efSearch} | ${num(p.recallAt1Near, 3)} | ${num(p.recallAt1Fresh, 3)} | ${num(p.searchUsP50, 0)} |`);
      L.push('');
    }
    L.push('**Recommended settings:** ' + recommend(ix), '');
  }
  if (r.guardrails) {
    L.push('## Guardrails: prompt-injection screening and moderation cost', '');
    L.push(renderGuardrails(r.guardrails));
  }
  return L.join('\n');
}

/** A sentence per finding, derived from the measured numbers (not written in advance). */
export function recommend(ix: IndexReport): string {
  const out: string[] = [];
  for (const s of ix.efSweep) {
    if (s.distribution !== 'uniform' && ix.efSweep.some((x) => x.distribution === 'uniform' && x.dimension === s.dimension && x.entries === s.entries)) {
      const ok = s.points.find((p) => p.recallAt1Near >= 0.99);
      if (ok) out.push(`clustered (realistic) at dim ${s.dimension}: efSearch=${ok.efSearch} suffices`);
      continue;
    }
    const ok = s.points.find((p) => p.recallAt1Near >= 0.99);
    const cur = s.points.find((p) => p.efSearch === ix.settings.efSearch);
    if (ok) {
      out.push(
        `at dim ${s.dimension} with ${s.entries.toLocaleString('en-US')} entries, efSearch=${ok.efSearch} already finds the near-duplicate in >= 99% of searches (${num(ok.searchUsP50, 0)} us)` +
          (cur ? `; the default ${ix.settings.efSearch} gives ${num(cur.recallAt1Near, 3)} at ${num(cur.searchUsP50, 0)} us` : ''),
      );
    } else {
      out.push(`at dim ${s.dimension} with ${s.entries.toLocaleString('en-US')} entries no efSearch up to ${s.points[s.points.length - 1]?.efSearch} reaches 99% near-duplicate recall: raise HNSW_M`);
    }
  }
  const slowest = [...ix.cells].sort((a, b) => b.insertUsPerEntry - a.insertUsPerEntry)[0];
  if (slowest) out.push(`inserts cost up to ${num(slowest.insertUsPerEntry, 0)} us each (dim ${slowest.dimension}, ${slowest.entries.toLocaleString('en-US')} entries), paid once per miss, far below an upstream call`);
  const need = ix.efSweep.map((s) => s.points.find((p) => p.recallAt1Near >= 0.99)?.efSearch ?? Infinity);
  const worst = Math.max(...need, 0);
  if (worst > ix.settings.efSearch && Number.isFinite(worst)) {
    out.push(`HNSW_EF_SEARCH=${worst} for caches near the largest size measured (the default ${ix.settings.efSearch} misses near-duplicates there in the worst case); keep HNSW_M=${ix.settings.m}, HNSW_EF_CONSTRUCTION=${ix.settings.efConstruction}`);
  } else if (!Number.isFinite(worst)) {
    out.push(`raise HNSW_M (e.g. 32) for caches near the largest size measured: no efSearch tried reaches 99% there`);
  } else {
    out.push(`keep HNSW_M=${ix.settings.m}, HNSW_EF_CONSTRUCTION=${ix.settings.efConstruction}, HNSW_EF_SEARCH=${ix.settings.efSearch}`);
  }
  return out.join('; ') + '.';
}
