/**
 * The verifier's features for one (stored prompt, new prompt) candidate pair. Each is cheap
 * (a few microseconds for chat-sized prompts) and means the same for any embedding model except
 * the cosine, which is why the scorer's weights are fitted per model.
 */
import type { GuardFindings } from '../guard.js';
import { lexicalSimilarity } from '../hybrid-score.js';
import { align, isName, read, type Alignment, type Reading, type WordSimilarity } from './alignment.js';
import { QUANTIFIERS } from './text.js';
import { compareRoles, type RoleReport } from './roles.js';

export const FEATURE_NAMES = [
  'cosine',
  'lexical',
  'coverMin',
  'coverMax',
  'unmatchedMin',
  'unmatchedMax',
  'synonymShare',
  'chunkCover',
  'reversed',
  'moved',
  'kept',
  'numberMismatch',
  'negationMismatch',
  'identifierMismatch',
  'entityMismatch',
  'directionMismatch',
  'substitution',
  'quantifierMismatch',
  'slotSubstitution',
  'idfCoverMin',
  'idfCoverMax',
  'innerUnmatchedMin',
  'innerUnmatchedMax',
  'whMismatch',
  'siblingSlot',
  'nameUnmatched',
  'questionCoverMin',
  'questionCoverMax',
  'questionUnmatchedMax',
] as const;

export type FeatureName = (typeof FEATURE_NAMES)[number];

export interface PairFeatures {
  values: Float64Array;
  roles: RoleReport;
}

export interface FeatureContext {
  wordSimilarity?: WordSimilarity;
  findings: (a: string, b: string) => GuardFindings;
}

/**
 * Words of `kind` that bear on the shared question: followed within four tokens (same sentence)
 * by a term the other prompt also has. "I was not sure" or "our first trip" in a context
 * sentence around the question do not count; "do not need a visa" does.
 */
function attached(r: Reading, matched: Int32Array, test: (norm: string) => boolean): string[] {
  const out: string[] = [];
  r.tokens.forEach((t, i) => {
    if (!test(t.norm)) return;
    for (let k = i + 1; k < Math.min(r.tokens.length, i + 5); k++) {
      if (r.sentenceOf[k] !== r.sentenceOf[i]) break;
      if (matched[k]! >= 0) {
        out.push(t.norm);
        break;
      }
    }
  });
  return out;
}

/** 1 when a quantifier / scope word ("all", "one", "only", "whole") on shared terms differs. */
/** "each line" / "every line" / "all lines" cover the same scope. */
const SCOPE_OF: Record<string, string> = { each: 'all', every: 'all', entire: 'whole' };
function quantifierMismatch(qa: string[], qb: string[]): number {
  const sa = new Set(qa.map((q) => SCOPE_OF[q] ?? q));
  const sb = new Set(qb.map((q) => SCOPE_OF[q] ?? q));
  for (const q of sa) if (!sb.has(q)) return 1;
  for (const q of sb) if (!sa.has(q)) return 1;
  return 0;
}

/**
 * Slots where both prompts have unmatched content words between the same two matched words (or
 * the text's start / end): "install Nginx on [CentOS]" / "install Nginx on [Debian]". Context
 * sentences add words on one side only; a near-synonym is matched already (alignment).
 */
function slotSubstitutions(al: Alignment): { count: number; pairs: [string, string][] } {
  const { a, b } = al;
  const term = (r: Reading, i: number) => r.tokens[i]!.cls === 'content' || r.tokens[i]!.cls === 'number';
  let count = 0;
  const pairs: [string, string][] = [];
  let leftB = -1;
  let pendingA: string[] = [];
  const flush = (rightB: number) => {
    if (pendingA.length && leftB < rightB) {
      let found = false;
      for (let y = leftB + 1; y < rightB; y++) {
        if (term(b, y) && al.tokenBtoA[y]! < 0) {
          found = true;
          for (const w of pendingA) if (pairs.length < 16) pairs.push([w, b.tokens[y]!.raw.toLowerCase()]);
        }
      }
      if (found) count++;
    }
    pendingA = [];
    leftB = rightB;
  };
  for (let x = 0; x < a.tokens.length; x++) {
    if (!term(a, x)) continue;
    const y = al.tokenAtoB[x]!;
    if (y < 0) pendingA.push(a.tokens[x]!.raw.toLowerCase());
    else if (y > leftB) flush(y);
    else pendingA = []; // order broken: a moved clause, not a slot
  }
  flush(b.tokens.length);
  return { count, pairs };
}

/**
 * How specific a word is, 0..1: -log p(w) from the model's pooling weight (SIF a / (a + p(w)),
 * word-similarity.ts), over log(1e7). Words the model does not know, and numbers, count as rare.
 */
const SIF_A = 1e-3;
export function specificity(t: { raw: string; cls: string }, sim?: WordSimilarity): number {
  if (t.cls === 'number') return 1;
  const w = sim?.weight?.(t.raw.toLowerCase());
  if (w === undefined || !(w > 0)) return 1;
  if (w >= 1) return 1;
  const p = Math.max(1e-7, (SIF_A * (1 - w)) / w);
  return Math.min(1, Math.max(0, -Math.log(p) / Math.log(1e7)));
}

/** Sentences holding at least one aligned term: the shared question (the rest is context). */
function alignedSentences(r: Reading, matched: Int32Array): Set<number> {
  const out = new Set<number>();
  matched.forEach((y, x) => y >= 0 && out.add(r.sentenceOf[x]!));
  return out;
}

interface SideWeights {
  /** IDF-weighted share of the content terms matched on the other side. */
  cover: number;
  /** Summed specificity of unmatched terms inside the shared question's sentences. */
  inner: number;
  /** Unmatched names inside those sentences. */
  names: number;
}

function sideWeights(r: Reading, matched: Int32Array, sim?: WordSimilarity): SideWeights {
  const shared = alignedSentences(r, matched);
  let total = 0;
  let covered = 0;
  let inner = 0;
  let names = 0;
  r.tokens.forEach((t, i) => {
    if (t.cls !== 'content' && t.cls !== 'number') return;
    const w = specificity(t, sim);
    total += w;
    if (matched[i]! >= 0) covered += w;
    else if (shared.has(r.sentenceOf[i]!)) {
      inner += w;
      if (isName(t)) names++;
    }
  });
  return { cover: total === 0 ? 1 : covered / total, inner, names };
}

/**
 * The sentences that carry the question (sentences split at . ! ? : ;): the last one ending in
 * "?" that has a content word; without one (an instruction, a statement), the whole text. What comes before it
 * (a preamble, "Context: ...", a greeting, "During the outage:") is context: two prompts that
 * share it but ask different questions are different requests, and two that differ only there
 * ask the same thing.
 */
export function questionSentences(r: Reading): Set<number> {
  const toks = r.tokens;
  const hasContent = new Set<number>();
  toks.forEach((t, i) => (t.cls === 'content' || t.cls === 'number') && hasContent.add(r.sentenceOf[i]!));
  let lastQuestion = -1;
  toks.forEach((t, i) => {
    // A "?" token opens the next sentence number; the sentence it closes is the one before it.
    if (t.raw === '?' && i > 0 && hasContent.has(r.sentenceOf[i - 1]!)) lastQuestion = r.sentenceOf[i - 1]!;
  });
  return lastQuestion >= 0 ? new Set([lastQuestion]) : hasContent;
}

/**
 * How much of the question part (questionSentences) the other prompt covers, IDF-weighted (a match
 * anywhere on the other side counts: "How do I X in Django?" / "I use Django. How do I X?"), and
 * the summed specificity of its terms left unmatched.
 */
function questionWeights(r: Reading, matched: Int32Array, sim?: WordSimilarity): { cover: number; unmatched: number } {
  const q = questionSentences(r);
  let total = 0;
  let covered = 0;
  r.tokens.forEach((t, i) => {
    if ((t.cls !== 'content' && t.cls !== 'number') || !q.has(r.sentenceOf[i]!)) return;
    const w = specificity(t, sim);
    total += w;
    if (matched[i]! >= 0) covered += w;
  });
  return { cover: total === 0 ? 1 : covered / total, unmatched: total - covered };
}

/**
 * What the question asks for: a reason, a place, a time, a person, an amount, a way, a thing.
 * Read from the first question word of each sentence holding aligned terms.
 */
type Target = 'why' | 'where' | 'when' | 'who' | 'quantity' | 'manner' | 'what';
function targets(r: Reading, matched: Int32Array): Set<Target> {
  const shared = alignedSentences(r, matched);
  const out = new Set<Target>();
  const seen = new Set<number>();
  const toks = r.tokens;
  for (let i = 0; i < toks.length; i++) {
    const s = r.sentenceOf[i]!;
    if (!shared.has(s) || seen.has(s)) continue;
    // "what's" / "how's" read as the question word.
    const w = toks[i]!.norm.replace(/^(what|how|where|who|why|when)s$/, '$1');
    const next = toks[i + 1]?.norm ?? '';
    let t: Target | undefined;
    if (w === 'why') t = 'why';
    else if (w === 'how' && next === 'come') t = 'why';
    else if (w === 'how') t = /^(many|much|long|often|far|old|big|large|tall|fast)$/.test(next) ? 'quantity' : 'manner';
    else if (w === 'where') t = 'where';
    else if (w === 'when') t = 'when';
    else if (w === 'who' || w === 'whom' || w === 'whose') t = 'who';
    else if (w === 'what' || w === 'which') {
      const ahead = toks.slice(i + 1, i + 5).map((x) => x.norm);
      t = /^(make|makes|made|cause|causes|caused)$/.test(toks[i + 1]?.raw.toLowerCase() ?? '') || ahead.includes('reason') ? 'why' : ahead.includes('way') || ahead.includes('ways') || ahead.includes('step') ? 'manner' : 'what';
    }
    if (t) {
      out.add(t);
      seen.add(s);
    }
  }
  return out;
}

/** 1 when both prompts ask for different kinds of answer ("why" / "how"); way / thing / amount are close. */
function targetMismatch(x: Set<Target>, y: Set<Target>): number {
  if (x.size === 0 || y.size === 0) return 0;
  for (const t of x) if (y.has(t)) return 0;
  const soft = new Set<Target>(['manner', 'what', 'quantity']);
  for (const t of x) for (const u of y) if (!(soft.has(t) && soft.has(u))) return 1;
  return 0;
}

function contentCount(r: Reading): number {
  let n = 0;
  for (const t of r.tokens) if (t.cls === 'content' || t.cls === 'number') n++;
  return n;
}

export function pairFeatures(cosine: number, a: Reading, b: Reading, ctx: FeatureContext): PairFeatures {
  const al = align(a, b, ctx.wordSimilarity);
  const na = contentCount(a);
  const nb = contentCount(b);
  let matchedA = 0;
  let synonyms = 0;
  al.tokenAtoB.forEach((y, x) => {
    const c = a.tokens[x]!.cls;
    if (y < 0 || (c !== 'content' && c !== 'number')) return;
    matchedA++;
    if (al.matchKind[x] === 3) synonyms++;
  });
  let matchedB = 0;
  al.tokenBtoA.forEach((x, y) => {
    const c = b.tokens[y]!.cls;
    if (x >= 0 && (c === 'content' || c === 'number')) matchedB++;
  });
  const coverA = na === 0 ? 1 : matchedA / na;
  const coverB = nb === 0 ? 1 : matchedB / nb;
  const chunksAligned = al.chunkAtoB.reduce((s, j) => s + (j >= 0 ? 1 : 0), 0);
  const chunkTotal = Math.max(1, Math.min(a.chunks.length, b.chunks.length));
  const roles = compareRoles(al);
  const isQuantifier = (w: string) => QUANTIFIERS.has(w);
  const isNegation = (w: string) => w === 'not';
  const negA = attached(a, al.tokenAtoB, isNegation).length;
  const negB = attached(b, al.tokenBtoA, isNegation).length;
  const f = ctx.findings(a.text, b.text);
  const sim = ctx.wordSimilarity;
  const wa = sideWeights(a, al.tokenAtoB, sim);
  const wb = sideWeights(b, al.tokenBtoA, sim);
  const slots = slotSubstitutions(al);
  const qa = questionWeights(a, al.tokenAtoB, sim);
  const qb = questionWeights(b, al.tokenBtoA, sim);
  let sibling = 0;
  if (sim?.related) for (const [p, q] of slots.pairs) sibling = Math.max(sibling, sim.related(p, q) ?? 0);
  const values = new Float64Array([
    Number.isNaN(cosine) ? 0 : cosine,
    lexicalSimilarity(a.text, b.text),
    Math.min(coverA, coverB),
    Math.max(coverA, coverB),
    Math.log1p(Math.min(na - matchedA, nb - matchedB)),
    Math.log1p(Math.max(na - matchedA, nb - matchedB)),
    matchedA === 0 ? 0 : synonyms / matchedA,
    chunksAligned / chunkTotal,
    Math.min(2, roles.reversed),
    Math.min(2, roles.moved),
    Math.min(3, roles.kept),
    f.number ? 1 : 0,
    (negA > 0) !== (negB > 0) ? 1 : 0,
    f.identifier ? 1 : 0,
    f.entity ? 1 : 0,
    f.direction ? 1 : 0,
    f.substitution ? 1 : 0,
    quantifierMismatch(attached(a, al.tokenAtoB, isQuantifier), attached(b, al.tokenBtoA, isQuantifier)),
    Math.min(3, slots.count),
    Math.min(wa.cover, wb.cover),
    Math.max(wa.cover, wb.cover),
    Math.min(4, Math.min(wa.inner, wb.inner)),
    Math.min(4, Math.max(wa.inner, wb.inner)),
    targetMismatch(targets(a, al.tokenAtoB), targets(b, al.tokenBtoA)),
    Math.max(0, sibling),
    Math.min(2, Math.min(wa.names, wb.names)),
    Math.min(qa.cover, qb.cover),
    Math.max(qa.cover, qb.cover),
    Math.min(4, Math.max(qa.unmatched, qb.unmatched)),
  ]);
  return { values, roles };
}

export { read };
