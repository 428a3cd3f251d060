/**
 * `make bench`: hit quality through the real gateway, the threshold sweep, latency and overhead,
 * throughput under autocannon, and index scale. Progress on stderr; results in
 * bench/results/tmp/<date>-<sha>[-quick]/ (summary.md, results.json, the SVG plot; ignored by git).
 * BENCH_PUBLISH=1 on a full run writes bench/results/<date>-<sha>/ and a copy of the summary in
 * bench/results/latest.md instead. BENCH_QUICK=1 ~1 minute; BENCH_FULL=1 adds 1M index entries;
 * BENCH_PARTS=quality,latency,throughput,index picks parts; BENCH_OUT=<dir> writes there.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { createTransformersEmbedder, readModelDefaults } from '../src/embedding/transformers-embedder.js';
import { scoringFor } from './lib/cache-sim.js';
import { renderServedQuality, servedQuality } from './lib/verifier-report.js';
import { loadVerifierWeights } from '../src/cache/verify/scorer.js';
import { createVerifier } from '../src/cache/verify/verifier.js';
import { loadWordSimilarity } from '../src/cache/word-similarity.js';
import { readAllSets, repoRoot, sharedDataDir } from './lib/datasets.js';
import { startGatewayChild, startGatewayInProcess, type GatewayHandle } from './lib/gateway-proc.js';
import { ALL_PARTS, benchOptions } from './lib/options.js';
import { publishError, resultLocation } from './lib/output.js';
import { runIndexScale } from './lib/part-index.js';
import { runLatency } from './lib/part-latency.js';
import { runPerf } from './lib/part-perf.js';
import { runScopes } from './lib/part-scopes.js';
import { runMemory } from './lib/part-memory.js';
import { runQuality } from './lib/part-quality.js';
import { BOUND_PLOT_FILE, renderBoundPlot, runBound } from './lib/part-bound.js';
import { runThroughput } from './lib/part-throughput.js';
import { runGuardrails } from './lib/part-guardrails.js';
import { log } from './lib/progress.js';
import { calibrations, PLOT_FILE, renderQualityPlot, renderSummary, type BenchReport } from './lib/report.js';
import { gatewayEnv, tempDataDir } from './lib/replay.js';
import { SimUpstream } from './lib/sim-upstream.js';
import { loadWorkloads } from './lib/workload.js';

function git(root: string, args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const root = repoRoot();
  const opts = benchOptions();
  const refused = publishError(process.env, opts.mode === 'quick');
  if (refused) throw new Error(refused);
  const dataDir = sharedDataDir();
  const baseEnv = gatewayEnv({});
  const config = loadConfig({ ...baseEnv, MODELS_DIR: baseEnv.MODELS_DIR ?? path.join(root, 'models') });
  const modelsDir = config.embedding.modelsDir;
  const modelDefaults = readModelDefaults(modelsDir, config.embedding.model);
  // As src/server.ts: the model's learned verifier (guard on) scores candidates and sets the default.
  const verifierWeights = config.cache.guard ? loadVerifierWeights(modelsDir, config.embedding.model) : undefined;
  const verifier = verifierWeights ? createVerifier(verifierWeights, { wordSimilarity: loadWordSimilarity(modelsDir, config.embedding.model) }) : undefined;
  const threshold = config.cache.similarityThreshold ?? verifierWeights?.threshold ?? modelDefaults.similarityThreshold;
  log(`mode ${opts.mode}, parts ${opts.parts.join(', ')}, seed ${opts.seed}; loading ${config.embedding.model}`);
  const embedder = await createTransformersEmbedder({ model: config.embedding.model, modelsDir, allowRemote: config.embedding.allowRemote });

  const sha = git(root, ['rev-parse', '--short', 'HEAD']) || 'nogit';
  const report: BenchReport = {
    meta: {
      generatedAt: new Date().toISOString(),
      gitSha: sha,
      gitDirty: git(root, ['status', '--porcelain', '--untracked-files=no']) !== '',
      mode: opts.mode,
      seed: opts.seed,
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
      embedModel: embedder.name,
      dimension: embedder.dimension,
      threshold,
      scoring: scoringFor(modelDefaults, verifier).kind,
      guard: config.cache.guard,
      hnsw: config.cache.hnsw,
    },
  };

  let servedMd = '';
  if (opts.parts.includes('quality')) {
    if (!fs.existsSync(dataDir)) log(`shared data not found at ${dataDir} (SHARED_DATA_DIR): only the project's own workloads run`);
    const { workloads, missing } = loadWorkloads({ repoRoot: root, dataDir, sizes: opts.quality, seed: opts.seed });
    log(`quality: ${workloads.map((w) => `${w.name} (${w.items.length})`).join(', ')}; ${opts.quality.httpRequests} requests each through the gateway`);
    report.quality = await runQuality({
      workloads,
      missing,
      embedder,
      modelsDir,
      threshold,
      guard: config.cache.guard,
      scoring: scoringFor(modelDefaults, verifier),
      httpRequests: opts.quality.httpRequests,
      upstream: opts.quality.upstream,
      pricingModel: opts.pricingModel,
    });
    report.calibration = calibrations(report.quality);
    if (verifierWeights) {
      // Pairwise hit quality of the served decision: the adversarial test split per kind, and the
      // third-party pair sets (both at the served threshold).
      const rows = await servedQuality(root, embedder, verifierWeights, threshold, loadWordSimilarity(modelsDir, config.embedding.model), fs.existsSync(dataDir) ? readAllSets(dataDir).sets : []);
      servedMd = renderServedQuality(rows.filter((r) => r.set !== 'adversarial-dev'), threshold, embedder.name);
    }
  }

  if (opts.parts.includes('bound')) {
    log(`bound: static thresholds vs error-bound mode, ${opts.bound.requests} requests per stream`);
    report.bound = await runBound({ root, embedder, modelsDir, model: opts.pricingModel, requests: opts.bound.requests, seed: opts.seed, verifyMaxRate: opts.bound.verifyMaxRate });
  }

  if (opts.parts.includes('latency') || opts.parts.includes('throughput')) {
    const upstream = await new SimUpstream({ latencyMs: { min: opts.latency.upstreamMs, max: opts.latency.upstreamMs }, seed: opts.seed }).start();
    const gwData = tempDataDir();
    const env = {
      ...baseEnv,
      MODELS_DIR: modelsDir,
      DATA_DIR: gwData,
      CACHE_STORE_URL: 'memory://',
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_API_KEY: 'sk-bench',
      CACHE_SIMILARITY_THRESHOLD: String(threshold),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    };
    let gateway: GatewayHandle | undefined;
    try {
      gateway = process.env.BENCH_GATEWAY === 'in-process' ? await startGatewayInProcess(env, embedder) : await startGatewayChild(env);
      log(`gateway for latency/throughput: ${gateway.measuredBy}`);
      if (opts.parts.includes('latency')) {
        report.latency = await runLatency({ gateway, upstream, rounds: opts.latency.rounds, model: opts.pricingModel, modelsDir, seed: opts.seed });
      }
      if (opts.parts.includes('throughput')) {
        report.throughput = await runThroughput({
          gateway,
          upstreamLatencyMs: opts.throughput.upstreamMs,
          concurrency: opts.throughput.concurrency,
          durationSec: opts.throughput.durationSec,
          model: opts.pricingModel,
          modelsDir,
          seed: opts.seed,
        });
      }
    } finally {
      await gateway?.close();
      await upstream.stop();
      fs.rmSync(gwData, { recursive: true, force: true });
    }
  }

  if (opts.parts.includes('perf')) {
    report.perf = await runPerf({
      modelsDir,
      model: opts.pricingModel,
      upstreamMs: opts.perf.upstreamMs,
      durationSec: opts.perf.durationSec,
      sequentialRounds: opts.perf.sequentialRounds,
      missConnections: opts.perf.missConnections,
      hitConnections: opts.perf.hitConnections,
      seed: opts.seed,
      cpuProfDir: process.env.BENCH_CPU_PROF_DIR || undefined,
      // e.g. BENCH_GATEWAY_ENV='{"CACHE_STORE_URL":"memory://"}' to compare stores side by side.
      gatewayEnv: process.env.BENCH_GATEWAY_ENV ? (JSON.parse(process.env.BENCH_GATEWAY_ENV) as Record<string, string>) : undefined,
    });
  }

  if (opts.parts.includes('index')) {
    const dims = [...new Set([embedder.dimension, opts.index.extraDimension])];
    report.index = await runIndexScale({
      dimensions: dims,
      sizes: opts.index.sizes,
      distributions: ['uniform', 'clustered'],
      settings: config.cache.hnsw,
      queries: opts.index.queries,
      efSweep: opts.index.efSweep,
      seed: opts.seed,
    });
  }
  if (opts.parts.includes('scopes')) {
    report.scopes = await runScopes({
      entries: opts.scopes.entries,
      scopeCounts: opts.scopes.scopeCounts,
      dimension: embedder.dimension,
      queries: opts.scopes.queries,
      flatLimit: config.cache.flatScopeLimit,
      settings: config.cache.hnsw,
      seed: opts.seed,
    });
  }
  if (opts.parts.includes('memory')) {
    report.memory = await runMemory({ entries: opts.memory.entries, dimension: embedder.dimension, settings: config.cache.hnsw, seed: opts.seed });
  }
  if (opts.parts.includes('guardrails')) {
    log('guardrails: screening on data/eval/guardrails (test and dev), check timings');
    report.guardrails = await runGuardrails({ root, quick: opts.mode === 'quick' });
  }
  await embedder.close?.();
  report.meta.durationSec = (performance.now() - started) / 1000;

  // A run of some parts only is named after them, and never replaces latest.md (which cites a whole run).
  const partial = opts.parts.length < ALL_PARTS.length;
  const name = `${report.meta.generatedAt.slice(0, 10)}-${sha}${opts.mode === 'quick' ? '-quick' : ''}${partial ? `-${opts.parts.join('+')}` : ''}`;
  const location = resultLocation({ root, name, quick: opts.mode === 'quick', env: process.env });
  const { outDir } = location;
  const latestFile = partial ? undefined : location.latestFile;
  const linkPrefix = location.linkPrefix;
  fs.mkdirSync(outDir, { recursive: true });
  const summary = renderSummary(report) + (servedMd ? `\n## Served hit quality on labelled pairs\n\n${servedMd}` : '');
  fs.writeFileSync(path.join(outDir, 'summary.md'), summary);
  fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(report, null, 1) + '\n');
  if (report.quality) fs.writeFileSync(path.join(outDir, PLOT_FILE), renderQualityPlot(report.quality));
  if (report.bound) fs.writeFileSync(path.join(outDir, BOUND_PLOT_FILE), renderBoundPlot(report.bound));
  if (latestFile) {
    // latest.md sits one folder up: its links point into the run's folder.
    const latest = summary
      .replace(`](${PLOT_FILE})`, `](${linkPrefix}/${PLOT_FILE})`)
      .replace('Raw numbers: `results.json`', `Raw numbers: \`${linkPrefix}/results.json\``);
    fs.writeFileSync(latestFile, latest);
  }
  log(`done in ${(report.meta.durationSec / 60).toFixed(1)} min: ${path.relative(root, outDir) || outDir}/summary.md`);
  process.stdout.write(summary + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
