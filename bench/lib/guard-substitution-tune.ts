/**
 * Tuning aid for the guard's substitution check, on the project's own data only
 * (bench/lib/hybrid-dev-set.ts, which includes data/workloads/chat-assistant.jsonl, plus
 * bench/lib/guard-substitution-dev.ts); shared/data is never read. For each word-similarity
 * floor it counts the labelled duplicates the substitution check rejects (false rejections) and
 * the different-meaning pairs it rejects (catches), over pairs the guard would otherwise pass.
 * Run: npx tsx bench/lib/guard-substitution-tune.ts [floor,...]   (GUARD_TUNE_VERBOSE=1 lists pairs)
 */
import path from 'node:path';
import { createGuard } from '../../src/cache/guard.js';
import { loadWordSimilarity } from '../../src/cache/word-similarity.js';
import { repoRoot } from './datasets.js';
import { hybridDevSet } from './hybrid-dev-set.js';
import { substitutionDevPairs } from './guard-substitution-dev.js';

const root = repoRoot();
const wordSimilarity = loadWordSimilarity(path.join(root, 'models'), 'static-wordnet-en');
if (!wordSimilarity) throw new Error('static-wordnet-en word table not found');
const floors = (process.argv[2] ?? '0.1,0.2,0.25,0.3,0.35,0.4,0.5').split(',').map(Number);
const verbose = process.env.GUARD_TUNE_VERBOSE === '1';
const sets = [
  { name: 'hybrid-dev (hard negatives only)', pairs: hybridDevSet(root, 0).pairs },
  { name: 'guard-substitution-dev', pairs: substitutionDevPairs() },
];
const base = createGuard();
for (const set of sets) {
  const pairs = set.pairs.filter((p) => base.agrees(p.a, p.b).ok);
  const pos = pairs.filter((p) => p.label).length;
  console.log(`\n${set.name}: ${pairs.length} pairs the guard passes without the check (${pos} duplicates, ${pairs.length - pos} different)`);
  for (const floor of floors) {
    const guard = createGuard({ wordSimilarity, substitutionSimilarity: floor });
    let fr = 0;
    let caught = 0;
    const lines: string[] = [];
    for (const p of pairs) {
      const v = guard.agrees(p.a, p.b);
      if (v.ok) continue;
      if (p.label) fr++;
      else caught++;
      lines.push(`  ${p.label ? 'FALSE-REJECT' : 'caught      '} ${v.reason} | ${p.a} | ${p.b}`);
    }
    console.log(`floor ${floor}: duplicates rejected ${fr}/${pos}, different caught ${caught}/${pairs.length - pos}`);
    if (verbose) console.log(lines.sort().join('\n'));
  }
}
