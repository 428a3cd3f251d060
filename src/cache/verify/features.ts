/**
 * The verifier's features for one (stored prompt, new prompt) candidate pair. Each is cheap
 * (a few microseconds for chat-sized prompts) and means the same for any embedding model except
 * the cosine, which is why the scorer's weights are fitted per model.
 */
import type { GuardFindings } from '../guard.js';
import { lexicalSimilarity } from '../hybrid-score.js';
import { align, read, type Alignment, type Reading, type WordSimilarity } from './alignment.js';
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
function quantifierMismatch(qa: string[], qb: string[]): number {
  const sa = new Set(qa);
  const sb = new Set(qb);
  for (const q of sa) if (!sb.has(q)) return 1;
  for (const q of sb) if (!sa.has(q)) return 1;
  return 0;
}

/**
 * Slots where both prompts have unmatched content words between the same two matched words (or
 * the text's start / end): "install Nginx on [CentOS]" / "install Nginx on [Debian]". Context
 * sentences add words on one side only; a near-synonym is matched already (alignment).
 */
function slotSubstitutions(al: Alignment): number {
  const { a, b } = al;
  const term = (r: Reading, i: number) => r.tokens[i]!.cls === 'content' || r.tokens[i]!.cls === 'number';
  let count = 0;
  let leftA = -1;
  let leftB = -1;
  let pendingA = false;
  const flush = (rightA: number, rightB: number) => {
    if (pendingA && leftB < rightB) {
      for (let y = leftB + 1; y < rightB; y++) {
        if (term(b, y) && al.tokenBtoA[y]! < 0) {
          count++;
          break;
        }
      }
    }
    pendingA = false;
    leftA = rightA;
    leftB = rightB;
  };
  for (let x = 0; x < a.tokens.length; x++) {
    if (!term(a, x)) continue;
    const y = al.tokenAtoB[x]!;
    if (y < 0) pendingA = true;
    else if (y > leftB) flush(x, y);
    else pendingA = false; // order broken: a moved clause, not a slot
  }
  flush(a.tokens.length, b.tokens.length);
  return count;
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
    if (y < 0) return;
    matchedA++;
    if (al.matchKind[x] === 3) synonyms++;
  });
  let matchedB = 0;
  for (const x of al.tokenBtoA) if (x >= 0) matchedB++;
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
    Math.min(3, slotSubstitutions(al)),
  ]);
  return { values, roles };
}

export { read };
