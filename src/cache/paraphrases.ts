/**
 * The model's paraphrase lexicon (models/<model>/paraphrases.json, built from WordNet by
 * models/build/build-paraphrases.ts): groups of words and phrases that can stand for each other
 * ("rent" / "hire", "get rid of" / "remove", "install" / "installation"). Two words are
 * paraphrases when they share a group, looked up under their inflected forms too ("renting",
 * "removed"). Multiword entries are found in a token sequence by `phraseAt`.
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * Two words in one group count as paraphrases only when their distributional similarity (the
 * model's `related`, GloVe block) reaches this: usage agrees that the shared sense is the one
 * meant ("rent" / "hire"), which a rare shared sense ("rent" / "tear") does not show.
 */
export const LEXICON_RELATED = 0.3;

export interface ParaphraseLexicon {
  /** Some group holds both words (or phrases, space-separated). */
  shareGroup(a: string, b: string): boolean;
  /** The other entries of the word's groups (for generating training rewordings). */
  mates(word: string): string[];
  /** The longest multiword entry starting at words[i] (lowercase words), as its word count, or 0. */
  phraseAt(words: string[], i: number): number;
  size: number;
}

/** Base forms a word may be an inflection of: "copies" -> copy, "removed" -> remove, "running" -> run. */
export function baseForms(w: string): string[] {
  const out = [w];
  const add = (x: string) => x.length >= 2 && out.push(x);
  if (w.endsWith('ies')) add(w.slice(0, -3) + 'y');
  if (w.endsWith('ied')) add(w.slice(0, -3) + 'y');
  if (w.endsWith('es')) add(w.slice(0, -2));
  if (w.endsWith('s') && !w.endsWith('ss')) add(w.slice(0, -1));
  if (w.endsWith('ed')) (add(w.slice(0, -2)), add(w.slice(0, -1)));
  if (w.endsWith('ing')) (add(w.slice(0, -3)), add(w.slice(0, -3) + 'e'));
  if (/(ed|ing)$/.test(w)) {
    const stem = w.replace(/(ed|ing)$/, '');
    if (stem.length >= 3 && stem[stem.length - 1] === stem[stem.length - 2]) add(stem.slice(0, -1));
  }
  return out;
}

export function createParaphraseLexicon(groups: string[][]): ParaphraseLexicon {
  const index = new Map<string, number[]>();
  /** First word of a phrase -> word counts of the phrases starting with it. */
  const phrases = new Map<string, Map<string, number>>();
  groups.forEach((g, id) => {
    for (const entry of g) {
      const list = index.get(entry);
      if (list) list.push(id);
      else index.set(entry, [id]);
      const words = entry.split(' ');
      if (words.length > 1) {
        let m = phrases.get(words[0]!);
        if (!m) phrases.set(words[0]!, (m = new Map()));
        m.set(entry, words.length);
      }
    }
  });
  // The groups of a word or phrase, looked up once: the verifier asks about every pair of
  // left-over words of two prompts, so the same words come back many times per lookup.
  const known = new Map<string, Set<number>>();
  const groupsOf = (w: string): Set<number> => {
    let out = known.get(w);
    if (out) return out;
    out = new Set<number>();
    const words = w.toLowerCase().split(' ');
    // A phrase inflects on its first word ("getting rid of").
    for (const first of baseForms(words[0]!)) for (const id of index.get([first, ...words.slice(1)].join(' ')) ?? []) out.add(id);
    if (known.size >= 50_000) known.delete(known.keys().next().value!);
    known.set(w, out);
    return out;
  };
  return {
    size: groups.length,
    shareGroup(a, b) {
      if (a === b) return true;
      const ga = groupsOf(a);
      if (ga.size === 0) return false;
      for (const id of groupsOf(b)) if (ga.has(id)) return true;
      return false;
    },
    mates(word) {
      const out = new Set<string>();
      for (const id of groupsOf(word)) for (const e of groups[id]!) out.add(e);
      out.delete(word.toLowerCase());
      return [...out];
    },
    phraseAt(words, i) {
      let best = 0;
      for (const first of baseForms(words[i]!)) {
        for (const [entry, n] of phrases.get(first) ?? []) {
          if (n <= best || i + n > words.length) continue;
          const rest = entry.split(' ').slice(1);
          if (rest.every((w, k) => words[i + 1 + k] === w)) best = n;
        }
      }
      return best;
    },
  };
}

/** models/<model>/paraphrases.json, or undefined when the model has none. */
export function loadParaphraseLexicon(dir: string): ParaphraseLexicon | undefined {
  const file = path.join(dir, 'paraphrases.json');
  if (!fs.existsSync(file)) return undefined;
  const data = JSON.parse(fs.readFileSync(file, 'utf8')) as { groups?: unknown };
  if (!Array.isArray(data.groups) || !data.groups.every((g) => Array.isArray(g) && g.every((w) => typeof w === 'string'))) {
    throw new Error(`${file}: expected {"groups": [[word, ...], ...]}`);
  }
  return createParaphraseLexicon(data.groups as string[][]);
}
