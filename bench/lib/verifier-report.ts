/**
 * Hit quality of the served decision (verifier score >= served threshold) on the adversarial set
 * (per kind) and on the third-party pair sets: hit rate, precision of hits, recall on pairs that
 * should hit. Used by `make eval-embedder` and `make bench`.
 */
import type { WordSimilarity } from '../../src/cache/verify/alignment.js';
import type { VerifierWeights } from '../../src/cache/verify/scorer.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import { hitQuality, perKind, readEvalSet, type AdversarialPair, type KindRow } from './adversarial.js';
import type { PairSet } from './datasets.js';
import { cosines, verifierScores } from './verifier-eval.js';

export interface ServedQuality {
  set: string;
  pairs: number;
  positives: number;
  hitRate: number;
  precision: number;
  recall: number;
  kinds?: KindRow[];
}

export async function servedQuality(
  root: string,
  embedder: Embedder,
  weights: VerifierWeights,
  threshold: number,
  wordSimilarity: WordSimilarity | undefined,
  thirdParty: PairSet[],
): Promise<ServedQuality[]> {
  const out: ServedQuality[] = [];
  const sets: { name: string; pairs: { a: string; b: string; label: boolean }[]; rows?: AdversarialPair[] }[] = [
    ...(['test', 'dev'] as const).flatMap((split) =>
      (['adversarial', 'topic'] as const).map((name) => {
        const rows = readEvalSet(root, name, split);
        return { name: `${name}-${split}`, pairs: rows, rows };
      }),
    ),
    ...thirdParty.map((s) => ({ name: s.name, pairs: s.pairs })),
  ];
  for (const s of sets) {
    const cos = await cosines(embedder, s.pairs);
    const scores = verifierScores(weights, s.pairs, cos, wordSimilarity);
    const hit = scores.map((x) => x >= threshold);
    const labels = s.pairs.map((p) => p.label);
    const q = hitQuality(labels, hit);
    out.push({
      set: s.name,
      pairs: s.pairs.length,
      positives: labels.filter(Boolean).length,
      hitRate: q.hitRate,
      precision: q.precision,
      recall: q.recall,
      kinds: s.rows ? perKind(s.rows, hit) : undefined,
    });
  }
  return out;
}

const pct = (x: number) => (Number.isNaN(x) ? 'n/a' : (100 * x).toFixed(1));

export function renderServedQuality(rows: ServedQuality[], threshold: number, model: string): string {
  const lines = [`Served decision (${model}, verifier score >= ${threshold}):`, ''];
  lines.push('| set | pairs (should hit) | hit rate % | precision % | recall % |', '| --- | --- | --- | --- | --- |');
  for (const r of rows) lines.push(`| ${r.set} | ${r.pairs} (${r.positives}) | ${pct(r.hitRate)} | ${pct(r.precision)} | ${pct(r.recall)} |`);
  for (const r of rows.filter((x) => x.kinds)) {
    lines.push('', `${r.set}, per kind:`, '', '| kind | should | served |', '| --- | --- | --- |');
    for (const k of r.kinds!) lines.push(`| ${k.kind} | ${k.shouldHit ? 'hit' : 'miss'} | ${k.hits}/${k.pairs} |`);
  }
  return lines.join('\n') + '\n';
}
