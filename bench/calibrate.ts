/**
 * `make calibrate TARGET_PRECISION=0.98`. With the model's learned verifier (the default), see
 * calibrateVerifier below. Without one (CACHE_GUARD=off, or a model without verifier.json): prints the CACHE_SIMILARITY_THRESHOLD that gives the
 * highest pooled hit ratio over the bench workloads while precision stays at or above the target,
 * with the guard as configured (CACHE_GUARD). Offline replay of the cache's decision rule on a
 * 0.005 grid; no gateway or upstream needed. BENCH_QUICK=1 uses the small workloads;
 * CALIBRATE_ON=<name,...> pools only those workloads.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadVerifierWeights, type VerifierWeights } from '../src/cache/verify/scorer.js';
import { hitQuality, perKind, readEvalSplit } from './lib/adversarial.js';
import { cosines, thresholdAtPrecision, verifierScores } from './lib/verifier-eval.js';
import { createGuard } from '../src/cache/guard.js';
import { loadWordSimilarity } from '../src/cache/word-similarity.js';
import { loadConfig } from '../src/config.js';
import { createTransformersEmbedder, readModelDefaults } from '../src/embedding/transformers-embedder.js';
import { ReplaySimulator, scoringFor, thresholdGrid } from './lib/cache-sim.js';
import { repoRoot, sharedDataDir } from './lib/datasets.js';
import { benchOptions } from './lib/options.js';
import { calibrate, type SweepPoint } from './lib/part-quality.js';
import { log } from './lib/progress.js';
import { poolMetrics, Savings, scoreDecisions, type QualityMetrics } from './lib/quality.js';
import { gatewayEnv } from './lib/replay.js';
import { loadWorkloads } from './lib/workload.js';

const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? 'n/a' : `${(100 * x).toFixed(1)}%`);

/**
 * With a learned verifier (models/<model>/verifier.json): the served default is the lowest
 * verifier score keeping precision >= target, at 95% confidence, on data/eval's dev splits (adversarial + topic; the
 * test split is never read here). Prints it with the dev split per kind and writes the same text
 * to a new dated file under bench/results/tmp/ (ignored: make calibrate never dirties the work tree).
 */
async function calibrateVerifier(root: string, model: string, modelsDir: string, weights: VerifierWeights, target: number): Promise<void> {
  const embedder = await createTransformersEmbedder({ model, modelsDir, allowRemote: false });
  const dev = readEvalSplit(root, 'dev');
  const sim = loadWordSimilarity(modelsDir, model);
  const cos = await cosines(embedder, dev);
  await embedder.close?.();
  const scores = verifierScores(weights, dev, cos, sim);
  const labels = dev.map((p) => p.label);
  const c = thresholdAtPrecision(scores, labels, target);
  const out: string[] = [`Target precision ${target}, ${model} with its verifier, data/eval dev splits, adversarial + topic (${dev.length} pairs).`];
  if (!c) {
    out.push(`No threshold reaches precision ${target} on the dev split.`);
    process.stdout.write(out.join('\n') + '\n');
    process.exit(1);
  }
  const hit = scores.map((s) => s >= c.threshold);
  const q = hitQuality(labels, hit);
  out.push('', `CACHE_SIMILARITY_THRESHOLD=${c.threshold}`, '', `Dev: precision ${pct(q.precision)} (95% lower bound ${pct(c.lowerBound)}), recall ${pct(q.recall)}, hit rate ${pct(q.hitRate)}. Served default now: ${weights.threshold} (models/${model}/verifier.json).`, '');
  for (const k of perKind(dev, hit)) out.push(`  ${k.kind.padEnd(10)} should ${k.shouldHit ? 'hit ' : 'miss'}  served ${k.hits}/${k.pairs}`);
  const text = out.join('\n') + '\n';
  process.stdout.write(text);
  const file = path.join(root, 'bench', 'results', 'tmp', `calibrate-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.txt`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  log(`calibrate: wrote ${path.relative(root, file)}`);
}

async function main(): Promise<void> {
  const target = Number(process.env.TARGET_PRECISION ?? '0.97');
  if (!(target > 0 && target <= 1)) {
    console.error(`TARGET_PRECISION must be a number in (0, 1], got ${process.env.TARGET_PRECISION}`);
    process.exit(2);
  }
  const root = repoRoot();
  const opts = benchOptions();
  const baseEnv = gatewayEnv({});
  const config = loadConfig({ ...baseEnv, MODELS_DIR: baseEnv.MODELS_DIR ?? path.join(root, 'models') });
  const modelsDir = config.embedding.modelsDir;
  const guard = config.cache.guard;
  const verifierWeights = guard ? loadVerifierWeights(modelsDir, config.embedding.model) : undefined;
  if (verifierWeights) return calibrateVerifier(root, config.embedding.model, modelsDir, verifierWeights, target);
  const modelDefaults = readModelDefaults(modelsDir, config.embedding.model);
  const current = config.cache.similarityThreshold ?? modelDefaults.similarityThreshold;
  const scoring = scoringFor(modelDefaults);
  const embedder = await createTransformersEmbedder({ model: config.embedding.model, modelsDir, allowRemote: config.embedding.allowRemote });
  const loaded = loadWorkloads({ repoRoot: root, dataDir: sharedDataDir(), sizes: opts.quality, seed: opts.seed });
  const missing = loaded.missing;
  // CALIBRATE_ON=chat-assistant,qqp-duplicates calibrates on the traffic that looks like yours.
  const only = (process.env.CALIBRATE_ON ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const workloads = only.length ? loaded.workloads.filter((w) => only.includes(w.name)) : loaded.workloads;
  if (workloads.length === 0) {
    console.error(`CALIBRATE_ON matches no workload; there are: ${loaded.workloads.map((w) => w.name).join(', ')}`);
    process.exit(2);
  }
  if (missing.length) log(`calibrate: not found, skipped: ${missing.join(', ')}`);
  log(`calibrate: ${workloads.map((w) => `${w.name} (${w.items.length})`).join(', ')}; guard ${guard ? 'on' : 'off'}`);

  const grid = thresholdGrid(0.5, 0.99, 0.005);
  const savings = new Savings(opts.pricingModel);
  const perWorkload: Map<number, QualityMetrics>[] = [];
  for (const w of workloads) {
    const sim = await ReplaySimulator.create(w, embedder, createGuard({ wordSimilarity: loadWordSimilarity(modelsDir, config.embedding.model) }), scoring);
    perWorkload.push(new Map(grid.map((t) => [t, scoreDecisions(w, sim.run(t, guard), savings)])));
  }
  await embedder.close?.();
  const pooled: SweepPoint[] = grid.map((t) => ({ threshold: t, guard, metrics: poolMetrics(perWorkload.map((m) => m.get(t)!)) }));
  const c = calibrate(pooled, target, guard);
  const now = pooled.reduce((best, p) => (Math.abs(p.threshold - current) < Math.abs(best.threshold - current) ? p : best));

  const out: string[] = [];
  out.push(`Target precision ${target} with the guard ${guard ? 'on' : 'off'}, ${config.embedding.model} (${scoring.kind} score), ${workloads.length} workloads pooled (${pooled[0]!.metrics.requests} requests).`);
  if (c.threshold === undefined) {
    out.push(`No threshold in 0.50-0.99 reaches precision ${target}; the highest pooled precision is ${pct(Math.max(...pooled.map((p) => p.metrics.precision).filter((x) => !Number.isNaN(x))))}.`);
    process.stdout.write(out.join('\n') + '\n');
    process.exit(1);
  }
  out.push('', `CACHE_SIMILARITY_THRESHOLD=${c.threshold}`, '');
  out.push(`Achieved: hit ratio ${pct(c.hitRate)}, precision ${pct(c.precision)}, recall ${pct(c.recall)} (pooled).`);
  out.push(`Current threshold ${current}: hit ratio ${pct(now.metrics.hitRate)}, precision ${pct(now.metrics.precision)}.`);
  out.push('', 'Per workload at that threshold:');
  workloads.forEach((w, i) => {
    const m = perWorkload[i]!.get(c.threshold!)!;
    out.push(`  ${w.name.padEnd(22)} hit ratio ${pct(m.hitRate).padStart(6)}  precision ${pct(m.precision).padStart(6)}  recall ${pct(m.recall).padStart(6)}  wrong/1k ${m.wrongPer1000.toFixed(1)}`);
  });
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
