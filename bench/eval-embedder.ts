/**
 * `make eval-embedder`: scores the active embedding model (EMBED_MODEL, default
 * DEFAULT_EMBED_MODEL in src/config.ts) with and without the correctness guard against a char-3-gram TF-IDF and an
 * exact-match baseline on the paraphrase sets in shared/data (SHARED_DATA_DIR), measures load
 * time and single-prompt embed latency, and calibrates the model's default similarity threshold
 * (lowest threshold keeping precision >= 0.97 with the guard on, all sets pooled).
 *
 * Like every command a user runs, it leaves tracked files alone by default: the report
 * (embedder-eval.{md,json}, served-quality.md) and the proposed gateway.json go to the ignored
 * bench/results/tmp/eval-embedder-<time>/. BENCH_PUBLISH=1 publishes instead:
 * bench/results/embedder-eval.{md,json} (cited by the README), a dated served-quality file, and the
 * calibration merged into models/<model>/gateway.json. EVAL_WRITE=0 prints the table only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createTransformersEmbedder } from '../src/embedding/transformers-embedder.js';
import { DEFAULT_EMBED_MODEL } from '../src/config.js';
import { createGuard } from '../src/cache/guard.js';
import { loadWordSimilarity } from '../src/cache/word-similarity.js';
import { readAllSets, repoRoot, sharedDataDir } from './lib/datasets.js';
import { DEFAULT_HYBRID_WEIGHTS, hybridSimilarity, type HybridWeights } from '../src/cache/hybrid-score.js';
import type { Embedder } from '../src/embedding/embedder.js';
import { embedAll, evaluateSet, GUARD_REJECTED, PRECISION_TARGETS, scoreSet, type SetResult } from './lib/evaluate.js';
import { hybridDevSet } from './lib/hybrid-dev-set.js';
import { loadVerifierWeights } from '../src/cache/verify/scorer.js';
import { renderServedQuality, servedQuality } from './lib/verifier-report.js';
import { cosine, percentile, recallAtPrecision, rocAuc, type Scored } from './lib/metrics.js';

const TARGET_PRECISION = 0.97;
/** A typical 40-word chat prompt for the latency measurement. */
const TYPICAL_PROMPT =
  'I am planning a two week trip to Japan in the spring and would like to know which cities I should visit, ' +
  'how to get around by train, and roughly what food and hotels cost per day for a budget traveller.';

async function main(): Promise<void> {
  const root = repoRoot();
  const model = process.env.EMBED_MODEL?.trim() || DEFAULT_EMBED_MODEL;
  const modelsDir = path.resolve(root, process.env.MODELS_DIR?.trim() || 'models');
  const write = process.env.EVAL_WRITE !== '0';
  const dataDir = sharedDataDir();

  if (process.env.EVAL_TUNE === '1') {
    // Weight sweep on the project's own dev set only: shared/data is not read.
    const embedder = await createTransformersEmbedder({ model, modelsDir, allowRemote: false });
    await tuneOnDevSet(embedder, model, root);
    await embedder.close?.();
    return;
  }

  if (!fs.existsSync(dataDir)) {
    console.log(`eval-embedder: skipped: evaluation data not found at ${dataDir} (set SHARED_DATA_DIR to the shared/data folder)`);
    return;
  }
  const { sets, missing } = readAllSets(dataDir);
  for (const m of missing) console.log(`eval-embedder: ${m} not found under ${dataDir}: that set is skipped`);
  if (sets.length === 0) {
    console.log('eval-embedder: skipped: no evaluation set present');
    return;
  }

  const t0 = performance.now();
  const embedder = await createTransformersEmbedder({ model, modelsDir, allowRemote: false });
  const loadMs = performance.now() - t0;
  console.log(`eval-embedder: loaded ${model} (dim ${embedder.dimension}) in ${loadMs.toFixed(0)} ms`);

  const latencies: number[] = [];
  for (let i = 0; i < 30; i++) await embedder.embed([TYPICAL_PROMPT]);
  for (let i = 0; i < 300; i++) {
    const s = performance.now();
    await embedder.embed([TYPICAL_PROMPT]);
    latencies.push(performance.now() - s);
  }
  latencies.sort((a, b) => a - b);
  const latency = { loadMs, embedP50Ms: percentile(latencies, 0.5), embedP99Ms: percentile(latencies, 0.99), promptWords: TYPICAL_PROMPT.split(/\s+/).length };

  const guard = createGuard({ wordSimilarity: loadWordSimilarity(modelsDir, model) });
  const results: SetResult[] = [];
  const pooled: Scored[] = [];
  const pooledCosine: Scored[] = [];
  const weights: HybridWeights = { ...DEFAULT_HYBRID_WEIGHTS };
  for (const set of sets) {
    const s = performance.now();
    const { result, scores } = await evaluateSet(set, embedder, guard, model, { hybridWeights: weights });
    results.push(result);
    pooled.push(...scores.hybridGuarded);
    pooledCosine.push(...scores.modelGuarded);
    console.log(`eval-embedder: ${set.name}: ${result.positives} positives, ${result.negatives} negatives (${((performance.now() - s) / 1000).toFixed(1)} s)`);
  }
  // The served decision: the learned verifier at its calibrated threshold (or
  // CACHE_SIMILARITY_THRESHOLD), on the adversarial set's test and dev splits per kind and on the
  // third-party sets.
  const verifierWeights = loadVerifierWeights(modelsDir, model);
  let served = '';
  if (verifierWeights?.threshold !== undefined) {
    const t = Number(process.env.CACHE_SIMILARITY_THRESHOLD || verifierWeights.threshold);
    const rows = await servedQuality(root, embedder, verifierWeights, t, loadWordSimilarity(modelsDir, model), sets);
    served = renderServedQuality(rows, t, model);
    console.log('\n' + served);
  }
  await embedder.close?.();

  const cal = recallAtPrecision(pooled, TARGET_PRECISION, GUARD_REJECTED);
  const threshold = Number.isFinite(cal.threshold) ? Math.ceil(cal.threshold * 1e4) / 1e4 : undefined;
  // The cosine-only operating point, kept for a cache that does not rescore with the hybrid score.
  const calCos = recallAtPrecision(pooledCosine, TARGET_PRECISION, GUARD_REJECTED);
  const cosineThreshold = Number.isFinite(calCos.threshold) ? Math.ceil(calCos.threshold * 1e4) / 1e4 : undefined;
  const hybridCost = measureHybridCost(weights);
  const md = renderMarkdown(model, embedder.dimension, results, latency, threshold, cal.recall, cal.precision, weights, hybridCost, {
    threshold: cosineThreshold,
    recall: calCos.recall,
    precision: calCos.precision,
  });
  console.log('\n' + md);
  if (!write) return;
  const publish = process.env.BENCH_PUBLISH === '1';
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  const outDir = publish ? path.join(root, 'bench', 'results') : path.join(root, 'bench', 'results', 'tmp', `eval-embedder-${stamp}`);
  fs.mkdirSync(outDir, { recursive: true });
  if (served) {
    const outFile = path.join(outDir, publish ? `served-quality-${stamp}.md` : 'served-quality.md');
    fs.writeFileSync(outFile, `# Served hit quality\n\n${served}`);
    console.log(`eval-embedder: wrote ${path.relative(root, outFile)}`);
  }

  const json = {
    model,
    dimension: embedder.dimension,
    generatedAt: new Date().toISOString(),
    sets: results,
    latency: { ...latency, hybridPerPairUs: hybridCost },
    calibration: {
      targetPrecision: TARGET_PRECISION,
      score: 'hybrid',
      hybridWeights: weights,
      threshold,
      pooledRecall: cal.recall,
      pooledPrecision: cal.precision,
      guard: true,
      embeddingCosine: { threshold: cosineThreshold, pooledRecall: calCos.recall, pooledPrecision: calCos.precision },
    },
  };
  fs.writeFileSync(path.join(outDir, 'embedder-eval.json'), JSON.stringify(json, null, 2) + '\n');
  fs.writeFileSync(path.join(outDir, 'embedder-eval.md'), md);
  console.log(`eval-embedder: wrote ${path.relative(root, path.join(outDir, 'embedder-eval.md'))} and .json`);

  if (threshold !== undefined) {
    const shipped = path.join(modelsDir, model, 'gateway.json');
    // Unpublished: the model's file as it would become, next to the report; the model is untouched.
    const file = publish ? shipped : path.join(outDir, 'gateway.json');
    const prev = fs.existsSync(shipped) ? (JSON.parse(fs.readFileSync(shipped, 'utf8')) as Record<string, unknown>) : {};
    delete prev.note;
    // The served default (similarityThreshold) is chosen from the traffic replay of `make bench`,
    // where near-misses compete with true duplicates; the pairwise calibration is recorded next to
    // it and only seeds a file that has no default yet.
    const next = {
      ...prev,
      similarityThreshold: typeof prev.similarityThreshold === 'number' ? prev.similarityThreshold : threshold,
      pairwiseThreshold: threshold,
      score: 'hybrid',
      hybridWeights: weights,
      embeddingThreshold: cosineThreshold,
      targetPrecision: TARGET_PRECISION,
      calibratedAt: new Date().toISOString(),
      calibratedOn: results.map((r) => `${r.name} (${r.positives}+/${r.negatives}-)`),
      guard: true,
      recallAtTarget: Number(cal.recall.toFixed(4)),
    };
    fs.writeFileSync(file, JSON.stringify(next, null, 2) + '\n');
    console.log(`eval-embedder: pairwise-calibrated threshold ${threshold} -> pairwiseThreshold in ${path.relative(root, file)}`);
  }
  if (!publish) {
    console.log(`eval-embedder: nothing tracked was changed; BENCH_PUBLISH=1 writes bench/results/embedder-eval.md and ${path.relative(root, path.join(modelsDir, model, 'gateway.json'))}`);
  }
}

function pct(x: number): string {
  return Number.isNaN(x) ? 'n/a' : (100 * x).toFixed(1);
}

function renderMarkdown(
  model: string,
  dim: number,
  results: SetResult[],
  latency: { loadMs: number; embedP50Ms: number; embedP99Ms: number; promptWords: number },
  threshold: number | undefined,
  recall: number,
  precision: number,
  weights: HybridWeights,
  hybridUs: number,
  cosineCal: { threshold: number | undefined; recall: number; precision: number },
): string {
  const lines: string[] = [];
  lines.push(`# Embedder evaluation: ${model}`, '');
  lines.push(`Generated by \`make eval-embedder\` on ${new Date().toISOString().slice(0, 10)}. Dimension ${dim}.`);
  lines.push('ROC-AUC and recall (%) at precision >= 0.95 / 0.97 / 0.99; "+ guard" treats pairs the correctness guard rejects as misses.');
  lines.push(
    `"hybrid" is the score the cache uses (src/cache/hybrid-score.ts): ${weights.embedding} x embedding cosine + ${(1 - weights.embedding).toFixed(2)} x ` +
      `char-3-gram cosine with stop words weighted ${weights.stopWordWeight}; the weights were chosen on the project's own dev set ` +
      '(bench/lib/hybrid-dev-set.ts, `EVAL_TUNE=1`), not on these sets. The TF-IDF baseline fits its IDF on each set\'s own texts.',
    '',
  );
  lines.push('| set | pos / neg | method | ROC-AUC | R@P0.95 | R@P0.97 | R@P0.99 | guard rejects pos / neg |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    for (const [name, m] of Object.entries(r.methods)) {
      const rej = m.guardRejectedPositives !== undefined ? `${pct(m.guardRejectedPositives)}% / ${pct(m.guardRejectedNegatives ?? NaN)}%` : '';
      const rec = PRECISION_TARGETS.map((p) => pct(m.recallAt[String(p)]!));
      lines.push(`| ${r.name} | ${r.positives} / ${r.negatives} | ${name} | ${m.rocAuc.toFixed(3)} | ${rec.join(' | ')} | ${rej} |`);
    }
  }
  lines.push('');
  lines.push('Sets:');
  for (const r of results) lines.push(`- ${r.name}: ${r.description}`);
  lines.push('');
  lines.push(
    `Latency: load ${latency.loadMs.toFixed(0)} ms; one ${latency.promptWords}-word prompt p50 ${latency.embedP50Ms.toFixed(2)} ms, p99 ${latency.embedP99Ms.toFixed(2)} ms (transformers.js pipeline, this machine).`,
  );
  lines.push(`Hybrid rescoring: ${hybridUs.toFixed(1)} µs per (stored, new) pair on a 41-word prompt, text analysis not memoized.`);
  lines.push(
    threshold !== undefined
      ? `Calibrated threshold on the hybrid score (lowest keeping precision >= 0.97 with the guard, all sets pooled): ${threshold} (pooled recall ${pct(recall)}%, precision ${pct(precision)}%). ` +
          `Written to models/${model}/gateway.json as \`pairwiseThreshold\` (with \`"score": "hybrid"\` and the weights); the served default \`similarityThreshold\` comes from the traffic replay of \`make bench\`.`
      : 'Calibration: no threshold reaches precision 0.97.',
  );
  if (cosineCal.threshold !== undefined) {
    lines.push(
      `For comparison, the embedding cosine alone needs ${cosineCal.threshold} for the same target (pooled recall ${pct(cosineCal.recall)}%, precision ${pct(cosineCal.precision)}%); gateway.json keeps it as \`embeddingThreshold\`.`,
    );
  }
  lines.push('');
  lines.push(
    'Reading the table: the gptcache-mock and qqp-dup negatives are random other prompts, which lexical overlap already ' +
      'separates, so char-3-gram TF-IDF is very strong there. The guard caps recall on them because it rejects labelled ' +
      'duplicates whose numbers, negation or names differ; that is by design, since a cache must not serve those. ' +
      'The STS sets have hard, topically close negatives, and there the guard is what buys precision. ' +
      'The TF-IDF baseline is also transductive: it learns its IDF from the very texts of each set, so it knows which words ' +
      'are common in that set; the hybrid score uses a fixed stop-word list instead and sees only the pair.',
  );
  lines.push('');
  return lines.join('\n');
}

/** Time per hybridSimilarity call on distinct ~40-word texts (memo defeated by unique texts). */
function measureHybridCost(weights: HybridWeights): number {
  const n = 4000;
  const stored = Array.from({ length: n }, (_, i) => `${TYPICAL_PROMPT} variant ${i}`);
  const fresh = Array.from({ length: n }, (_, i) => `${TYPICAL_PROMPT.replace('Japan', 'Korea')} take ${i}`);
  let sink = 0;
  for (let i = 0; i < 200; i++) sink += hybridSimilarity(0.8, `${stored[i]} warm`, `${fresh[i]} warm`, weights);
  const s = performance.now();
  for (let i = 0; i < n; i++) sink += hybridSimilarity(0.8, stored[i]!, fresh[i]!, weights);
  const us = ((performance.now() - s) * 1000) / n;
  return sink > -Infinity ? us : NaN;
}

/**
 * EVAL_TUNE=1: sweeps the hybrid weights on the project's own dev set (never on shared/data) and
 * prints recall at precision 0.97 with and without the guard, and ROC-AUC, per setting.
 */
async function tuneOnDevSet(embedder: Embedder, model: string, root: string): Promise<void> {
  const variants = [
    { label: 'all', set: hybridDevSet(root, 2) },
    { label: 'hard negatives only', set: hybridDevSet(root, 0, { random: false }) },
    { label: 'other-topic negatives only', set: hybridDevSet(root, 4, { hard: false }) },
  ];
  const vectors = await embedAll(embedder, variants.flatMap((v) => v.set.pairs.flatMap((p) => [p.a, p.b])));
  const cos = (a: string, b: string): number => cosine(vectors.get(a)!, vectors.get(b)!);
  const guard = createGuard({ wordSimilarity: loadWordSimilarity(path.resolve(root, process.env.MODELS_DIR?.trim() || 'models'), model) });
  const r = (items: Scored[], p: number, floor = -Infinity): string => (100 * recallAtPrecision(items, p, floor).recall).toFixed(1).padStart(5);
  for (const { label, set } of variants) {
    const pos = set.pairs.filter((p) => p.label).length;
    console.log(`\ndev set, ${label}: ${set.pairs.length} pairs (${pos} positive)`);
    console.log('emb  stop |   AUC | R@.90 | R@.97 | AUC+g | R@.90+g | R@.97+g');
    for (const embedding of [1, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]) {
      for (const stopWordWeight of embedding === 1 ? [0] : [0, 0.1, 0.2, 0.5]) {
        const { scores } = scoreSet(set, cos, guard, model, { hybridWeights: { embedding, stopWordWeight }, skipBaselines: true });
        console.log(
          `${embedding.toFixed(1)}  ${stopWordWeight.toFixed(1)} | ${rocAuc(scores.hybrid).toFixed(3)} | ${r(scores.hybrid, 0.9)} | ${r(scores.hybrid, 0.97)} | ` +
            `${rocAuc(scores.hybridGuarded).toFixed(3)} |   ${r(scores.hybridGuarded, 0.9, GUARD_REJECTED)} |   ${r(scores.hybridGuarded, 0.97, GUARD_REJECTED)}`,
        );
      }
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
