/**
 * Aligns two prompts word by word and term by term. A term (chunk) is a maximal run of content
 * words and numbers ("the remote staging server" -> remote staging server, "host port 8443"); a
 * word matches a word on the other side when it is the same up to inflection or one typo, or (a
 * weaker match) when the embedding model calls the two words near-synonyms. Terms are aligned by
 * how many of their words match, so multiword terms that share a word ("orders table" / "orders
 * archive table") still find their own counterpart.
 */
import { LEXICON_RELATED } from '../paraphrases.js';
import { normalizeFrames, sameWord, tokenize, type Token } from './text.js';

import type { WordSimilarity } from '../word-similarity.js';

export type { WordSimilarity };

export interface Chunk {
  start: number;
  /** Exclusive. */
  end: number;
  /** Sentence number, so relations are read within one sentence. */
  sentence: number;
}

export interface Reading {
  text: string;
  tokens: Token[];
  chunks: Chunk[];
  /** Chunk index of each token, -1 outside chunks. */
  chunkOf: Int32Array;
  sentenceOf: Int32Array;
}

export interface Alignment {
  a: Reading;
  b: Reading;
  /** Token index in b matched to each token of a (-1: none). */
  tokenAtoB: Int32Array;
  tokenBtoA: Int32Array;
  /** Per a-token: 0 none, 1 same word, 2 typo/inflection, 3 synonym. */
  matchKind: Uint8Array;
  chunkAtoB: Int32Array;
  chunkBtoA: Int32Array;
}

/** Word similarity at or above which two different words count as a (weak) match. */
export const SYNONYM_MATCH = 0.5;
/** Verbs that only carry a noun's meaning: "make a decision" / "decide", "take a shower" / "shower". */
const LIGHT_VERBS = new Set(
  'make makes made making take takes took taken taking give gives gave given giving perform performs performed performing conduct conducts conducted conducting'.split(' '),
);
const DETERMINERS = new Set(['a', 'an', 'the', 'some', 'my', 'your', 'our', 'their', 'his', 'her', 'its', 'this', 'that']);

export function read(text: string): Reading {
  const tokens = normalizeFrames(tokenize(text));
  const chunks: Chunk[] = [];
  const chunkOf = new Int32Array(tokens.length).fill(-1);
  const sentenceOf = new Int32Array(tokens.length);
  let sentence = 0;
  let open: Chunk | undefined;
  tokens.forEach((t, i) => {
    if (t.cls === 'punct' && /[.!?;:]/.test(t.raw)) sentence++;
    sentenceOf[i] = sentence;
    if (t.cls === 'content' || t.cls === 'number') {
      if (!open) chunks.push((open = { start: i, end: i + 1, sentence }));
      else open.end = i + 1;
      chunkOf[i] = chunks.length - 1;
    } else open = undefined;
  });
  return { text, tokens, chunks, chunkOf, sentenceOf };
}

const isTerm = (t: Token) => t.cls === 'content' || t.cls === 'number';

/**
 * The same word up to inflection or a typo; but two different words of the vocabulary one edit
 * apart ("Iceland" / "Ireland", "form" / "from") are two words, not a typo.
 */
function nearWord(p: string, q: string, sim?: WordSimilarity): boolean {
  if (p === q) return true;
  if (!sameWord(p, q)) return false;
  if (!sim?.known || inflected(p, q)) return true;
  return !(sim.known(p) && sim.known(q));
}

function inflected(p: string, q: string): boolean {
  const [s, l] = p.length <= q.length ? [p, q] : [q, p];
  return l.startsWith(s);
}

/** A name: capitalized inside a sentence, or mixed case / letters with digits (PostgreSQL, ES2022). */
export function isName(t: Token): boolean {
  return (/^\p{Lu}/u.test(t.raw) && !t.sentenceStart) || /\p{Ll}\p{Lu}/u.test(t.raw) || /\p{L}\d|\d\p{L}/u.test(t.raw);
}

/** isName of each token of a reading, computed once per reading (a stored prompt is aligned again and again). */
const nameFlags = new WeakMap<Reading, Uint8Array>();
function namesOf(r: Reading): Uint8Array {
  let flags = nameFlags.get(r);
  if (!flags) {
    flags = new Uint8Array(r.tokens.length);
    r.tokens.forEach((t, i) => (flags![i] = isName(t) ? 1 : 0));
    nameFlags.set(r, flags);
  }
  return flags;
}

export function align(a: Reading, b: Reading, sim?: WordSimilarity): Alignment {
  const ta = a.tokens;
  const tb = b.tokens;
  const tokenAtoB = new Int32Array(ta.length).fill(-1);
  const tokenBtoA = new Int32Array(tb.length).fill(-1);
  const matchKind = new Uint8Array(ta.length);

  // Chunks first: the pair of terms sharing the most words (ties: closest in relative position).
  const chunkAtoB = new Int32Array(a.chunks.length).fill(-1);
  const chunkBtoA = new Int32Array(b.chunks.length).fill(-1);
  const cand: { i: number; j: number; score: number }[] = [];
  a.chunks.forEach((ca, i) => {
    b.chunks.forEach((cb, j) => {
      let shared = 0;
      for (let x = ca.start; x < ca.end; x++) {
        for (let y = cb.start; y < cb.end; y++) if (nearWord(ta[x]!.norm, tb[y]!.norm, sim)) (shared++, (y = cb.end));
      }
      if (shared === 0) return;
      const la = ca.end - ca.start;
      const lb = cb.end - cb.start;
      const exact = shared === la && la === lb ? 1 : 0;
      cand.push({ i, j, score: exact * 10 + shared / Math.max(la, lb) + shared * 0.01 });
    });
  });
  cand.sort((x, y) => y.score - x.score);
  for (const c of cand) {
    if (chunkAtoB[c.i]! >= 0 || chunkBtoA[c.j]! >= 0) continue;
    chunkAtoB[c.i] = c.j;
    chunkBtoA[c.j] = c.i;
  }

  // Words: inside aligned chunks first, then anywhere; exact before typo before synonym.
  const link = (x: number, y: number, kind: number) => {
    tokenAtoB[x] = y;
    tokenBtoA[y] = x;
    matchKind[x] = kind;
  };
  const pass = (kind: number, test: (p: string, q: string) => boolean, withinChunks: boolean, names = true) => {
    const nameA = names ? undefined : namesOf(a);
    const nameB = names ? undefined : namesOf(b);
    for (let x = 0; x < ta.length; x++) {
      if (tokenAtoB[x]! >= 0 || !isTerm(ta[x]!)) continue;
      const cbIndex = a.chunkOf[x]! >= 0 ? chunkAtoB[a.chunkOf[x]!]! : -1;
      if (withinChunks && cbIndex < 0) continue;
      const from = withinChunks ? b.chunks[cbIndex]!.start : 0;
      const to = withinChunks ? b.chunks[cbIndex]!.end : tb.length;
      for (let y = from; y < to; y++) {
        if (tokenBtoA[y]! >= 0 || !isTerm(tb[y]!) || tb[y]!.cls !== ta[x]!.cls) continue;
        if (nameA && (nameA[x] === 1 || nameB![y] === 1)) continue;
        if (test(ta[x]!.norm, tb[y]!.norm)) {
          link(x, y, kind);
          break;
        }
      }
    }
  };
  const same = (p: string, q: string) => p === q;
  const near = (p: string, q: string) => nearWord(p, q, sim);
  pass(1, same, true);
  pass(2, near, true);
  pass(1, same, false);
  pass(2, near, false);
  // Names have no synonyms: "PostgreSQL" / "MySQL" share spelling, not meaning.
  if (sim) pass(3, (p, q) => p.length >= 3 && q.length >= 3 && (sim(p, q) ?? -1) >= SYNONYM_MATCH, false, false);
  if (sim?.lexicon && sim.related) lexiconPass(a, b, sim, link, tokenAtoB, tokenBtoA);
  // A compound written with a hyphen on one side and as separate words (or one word) on the
  // other: "pour-over" / "pour over" / "pourover".
  const joins = (from: Token[], to: Token[], fromTo: Int32Array, toFrom: Int32Array, aSide: boolean) => {
    for (let x = 0; x < from.length; x++) {
      const raw = from[x]!.raw.toLowerCase();
      if (fromTo[x]! >= 0 || !raw.includes('-')) continue;
      const parts = raw.split('-');
      for (let y = 0; y + parts.length <= to.length; y++) {
        const span = to.slice(y, y + parts.length).map((t) => t.raw.toLowerCase());
        const glued = to[y]!.raw.toLowerCase() === parts.join('');
        if (!glued && !span.every((w, k) => w === parts[k])) continue;
        const n = glued ? 1 : parts.length;
        if (to.slice(y, y + n).some((_, k) => toFrom[y + k]! >= 0)) continue;
        fromTo[x] = y;
        for (let k = 0; k < n; k++) toFrom[y + k] = x;
        if (aSide) matchKind[x] = 2;
        else matchKind[y] = 2;
        break;
      }
    }
  };
  joins(ta, tb, tokenAtoB, tokenBtoA, true);
  joins(tb, ta, tokenBtoA, tokenAtoB, false);
  return { a, b, tokenAtoB, tokenBtoA, matchKind, chunkAtoB, chunkBtoA };
}

/** A word or a multiword lexicon entry on one side, still unmatched: "get rid of", "remove". */
interface Unit {
  text: string;
  /** Its content / number tokens. */
  terms: number[];
  /** The first of its tokens. */
  start: number;
}

/** A reading's lowercase words and the lexicon phrase starting at each, read once per reading and lexicon. */
const phraseCache = new WeakMap<object, WeakMap<Reading, { words: string[]; phrases: Int32Array }>>();
function phrasesOf(r: Reading, lex: NonNullable<WordSimilarity['lexicon']>): { words: string[]; phrases: Int32Array } {
  let byReading = phraseCache.get(lex);
  if (!byReading) phraseCache.set(lex, (byReading = new WeakMap()));
  let out = byReading.get(r);
  if (!out) {
    const words = r.tokens.map((t) => t.raw.toLowerCase());
    const phrases = new Int32Array(words.length);
    for (let i = 0; i < words.length; i++) phrases[i] = r.tokens[i]!.cls === 'punct' ? 0 : lex.phraseAt(words, i);
    byReading.set(r, (out = { words, phrases }));
  }
  return out;
}

function lexiconUnits(r: Reading, matched: Int32Array, sim: WordSimilarity): Unit[] {
  const { words, phrases } = phrasesOf(r, sim.lexicon!);
  const out: Unit[] = [];
  const inPhrase = new Set<number>();
  for (let i = 0; i < words.length; i++) {
    const n = phrases[i]!;
    if (n < 2) continue;
    const span = Array.from({ length: n }, (_, k) => i + k);
    if (span.some((k) => r.tokens[k]!.cls === 'punct' || r.sentenceOf[k] !== r.sentenceOf[i])) continue;
    const terms = span.filter((k) => isTerm(r.tokens[k]!));
    if (terms.length === 0 || terms.some((k) => matched[k]! >= 0)) continue;
    out.push({ text: words.slice(i, i + n).join(' '), terms, start: i });
    span.forEach((k) => inPhrase.add(k));
  }
  r.tokens.forEach((t, i) => {
    if (t.cls === 'content' && matched[i]! < 0 && !inPhrase.has(i) && !isName(t) && t.raw.length >= 3) out.push({ text: words[i]!, terms: [i], start: i });
  });
  return out;
}

/**
 * Matches, through the paraphrase lexicon, words and phrases left unmatched: "rent" / "hire",
 * "get rid of" / "remove", "installation" / "install". A single word needs the model's usage
 * similarity to agree (LEXICON_RELATED); a light verb before a matched noun ("make a decision" /
 * "decide") goes with it.
 */
function lexiconPass(a: Reading, b: Reading, sim: WordSimilarity, link: (x: number, y: number, kind: number) => void, aToB: Int32Array, bToA: Int32Array): void {
  const lex = sim.lexicon!;
  const ua = lexiconUnits(a, aToB, sim);
  const ub = lexiconUnits(b, bToA, sim);
  const usedB = new Set<Unit>();
  const lightBefore = (r: Reading, at: number, matched: Int32Array): number => {
    let i = at - 1;
    while (i >= 0 && DETERMINERS.has(r.tokens[i]!.raw.toLowerCase())) i--;
    return i >= 0 && r.tokens[i]!.cls === 'content' && matched[i]! < 0 && LIGHT_VERBS.has(r.tokens[i]!.raw.toLowerCase()) ? i : -1;
  };
  for (const x of ua) {
    if (x.terms.some((i) => aToB[i]! >= 0)) continue;
    for (const y of ub) {
      if (usedB.has(y) || y.terms.some((j) => bToA[j]! >= 0)) continue;
      if (x.text === y.text || !lex.shareGroup(x.text, y.text)) continue;
      const single = x.terms.length === 1 && y.terms.length === 1 && !x.text.includes(' ') && !y.text.includes(' ');
      if (single && (sim.related!(x.text, y.text) ?? 0) < LEXICON_RELATED) continue;
      usedB.add(y);
      x.terms.forEach((i, k) => {
        const j = y.terms[Math.min(k, y.terms.length - 1)]!;
        link(i, j, 3);
      });
      y.terms.forEach((j, k) => (bToA[j] = x.terms[Math.min(k, x.terms.length - 1)]!));
      // "make a decision" / "decide": the light verb is part of the match.
      const la = lightBefore(a, x.start, aToB);
      if (la >= 0 && y.terms.length === 1) aToB[la] = y.terms[0]!;
      const lb = lightBefore(b, y.start, bToA);
      if (lb >= 0 && x.terms.length === 1) bToA[lb] = x.terms[0]!;
      break;
    }
  }
}
