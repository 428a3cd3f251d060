/**
 * Word-level reading of a prompt for the verifier: tokens with a normalized form and a class.
 * Content words carry the topic; relation words (from, to, into, than, by, of, "'s", not, ...)
 * carry the roles the content words play, so they are kept as tokens of their own rather than
 * dropped as stop words. Symmetric connectives (and, or, vs) are plain function words: "A or B"
 * asks the same as "B or A".
 */

export type TokenClass = 'content' | 'number' | 'relation' | 'function' | 'punct';

export interface Token {
  raw: string;
  /** Lowercase, apostrophes dropped, light plural/inflection stripping for content words. */
  norm: string;
  cls: TokenClass;
  /** Starts a sentence (after . ! ? or at the start). */
  sentenceStart: boolean;
}

/** Asymmetric relation words: the terms on their two sides play different roles. */
export const RELATION_WORDS = new Set([
  'from', 'to', 'into', 'onto', 'than', 'by', 'of', 'in', 'on', 'for', 'over', 'instead', 'not', 'poss', 'against',
  'toward', 'towards', 'via', 'under', 'before', 'after', 'at', 'with', 'without',
]);

/** Function words, politeness and chat filler: neither content nor relation. */
export const FUNCTION_WORDS = new Set(
  `a an the and or but if then so as about above again all am any are be because been being below between both can
  could did do does doing done during each few further had has have having he her here hers him his how i me my is it
  its itself just let may might more most must our ours own same shall she should some such that their them there these
  they this those through too until very was we were what when where which while who whom whose why will would you your
  yours also please kindly hi hello hey thanks thank dear ok okay yes yeah tell explain give show help us get got way best
  good thing things something anything someone like want need know really actually use using used up down out off vs
  versus im ive id youre dont doesnt didnt isnt arent cant wont couldnt shouldnt wouldnt any much many lot quick question
  wondering appreciated appreciate advance hope doing well just simple simplest easiest easy best way ways cheers sorry
  bother grateful morning evening afternoon greetings question wonder whats thats theres heres hes shes whos lets wheres
  hows whys whens theyre theyve weve youve youd youll theyd ive itll`
    .split(/\s+/)
    .filter(Boolean),
);

/** Quantifiers and scope words: "all containers" and "one container" ask different things. */
export const QUANTIFIERS = new Set(['all', 'every', 'each', 'one', 'single', 'only', 'whole', 'entire', 'both', 'first', 'last']);

export const NEGATIONS = new Set(['not', 'no', 'never', 'without', 'none', 'nothing', 'neither', 'nor', 'cannot', 'dont', 'doesnt', 'didnt', 'isnt', 'arent', 'wasnt', 'werent', 'cant', 'couldnt', 'shouldnt', 'wouldnt', 'wont', 'havent', 'hasnt', 'hadnt']);

const NUMBER_WORDS = new Set(
  'zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million billion dozen'.split(' '),
);

const TOKEN_RE = /\d+(?:[.,]\d+)*%?|[\p{L}\p{N}_]+(?:[.\-][\p{L}\p{N}_]+)*(?:['’][\p{L}]+)?|->|→|[.!?;:,]/gu;

/** Light suffix stripping so "files" / "file", "copied" / "copy", "running" / "run" meet. */
export function stem(w: string): string {
  if (w.length <= 3) return w;
  if (w.endsWith('ies') && w.length > 4) return w.slice(0, -3) + 'y';
  if (w.endsWith('ied') && w.length > 4) return w.slice(0, -3) + 'y';
  if (/(ches|shes|xes|sses|zes)$/.test(w)) return w.slice(0, -2);
  if (w.endsWith('ing') && w.length > 5) return undouble(w.slice(0, -3));
  if (w.endsWith('ed') && w.length > 4 && !w.endsWith('eed')) return undouble(w.slice(0, -2));
  if (w.endsWith('s') && !/(ss|us|is)$/.test(w)) return w.slice(0, -1);
  return w;
}

function undouble(w: string): string {
  return w.length >= 4 && w[w.length - 1] === w[w.length - 2] && !/[ls]$/.test(w) ? w.slice(0, -1) : w;
}

/** Splits "x's" into x + the possessive relation token; "don't" into a negation word. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let start = true;
  for (const m of text.normalize('NFKC').matchAll(TOKEN_RE)) {
    const raw = m[0];
    if (/^[.!?;:,]$/.test(raw)) {
      out.push({ raw, norm: raw, cls: 'punct', sentenceStart: false });
      if (/[.!?]/.test(raw)) start = true;
      continue;
    }
    if (raw === '->' || raw === '→') {
      out.push({ raw, norm: 'to', cls: 'relation', sentenceStart: false });
      continue;
    }
    const poss = /^(.+?)['’]s$/i.exec(raw);
    const base = poss && !/^(it|that|what|there|here|he|she|who|let)$/i.test(poss[1]!) ? poss[1]! : raw;
    out.push(classify(base, start));
    start = false;
    if (base !== raw) out.push({ raw: "'s", norm: 'poss', cls: 'relation', sentenceStart: false });
  }
  return out;
}

function classify(raw: string, sentenceStart: boolean): Token {
  const lower = raw.toLowerCase().replace(/['’]/g, '');
  if (/^\d/.test(lower) || NUMBER_WORDS.has(lower)) return { raw, norm: lower.replace(/,/g, ''), cls: 'number', sentenceStart };
  if (NEGATIONS.has(lower) || lower.endsWith('nt') && NEGATIONS.has(lower)) return { raw, norm: 'not', cls: 'relation', sentenceStart };
  if (RELATION_WORDS.has(lower)) return { raw, norm: lower === 'towards' ? 'toward' : lower, cls: 'relation', sentenceStart };
  if (FUNCTION_WORDS.has(lower)) return { raw, norm: lower, cls: 'function', sentenceStart };
  return { raw, norm: stem(lower), cls: 'content', sentenceStart };
}

/** Damerau-Levenshtein distance <= 1. */
export function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > 1) return false;
  let i = 0;
  while (i < la && i < lb && a[i] === b[i]) i++;
  if (la === lb) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true;
    return i + 1 < la && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  return la > lb ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

/** The same word up to inflection or one typo (typos only in words of 5+ letters). */
export function sameWord(a: string, b: string): boolean {
  if (a === b) return true;
  // Both rules below need lengths within 3 (a typo within 1): most pairs stop here.
  const diff = a.length - b.length;
  if (diff > 3 || diff < -3) return false;
  if (a.length >= 5 && b.length >= 5 && withinOneEdit(a, b)) return true;
  const s = diff <= 0 ? a : b;
  const l = diff <= 0 ? b : a;
  return s.length >= 4 && l.startsWith(s) && /^(e|er|es|ed|ing|ly|al|ion|ation|ment|s)$/.test(l.slice(s.length));
}

/**
 * Nouns that only frame a question, when they follow "what" / "which" closely: "What's the
 * command to X" / "What is the best way to X" / "What steps should I follow to X" ask "How do I X",
 * and "What's the reason X" asks "Why X". They become function words there.
 */
const FRAME_NOUNS = new Set(['way', 'command', 'method', 'procedure', 'step', 'process', 'approach', 'technique', 'query', 'reason', 'option', 'trick', 'recipe']);
const FRAME_VERBS = new Set(['follow', 'take', 'do']);

export function normalizeFrames(tokens: Token[]): Token[] {
  for (let i = 0; i < tokens.length; i++) {
    const w = tokens[i]!.norm;
    if (w !== 'what' && w !== 'whats' && w !== 'which') continue;
    for (let k = i + 1; k < Math.min(tokens.length, i + 6); k++) {
      const t = tokens[k]!;
      if (t.cls === 'punct') break;
      if (t.cls === 'content' && FRAME_NOUNS.has(t.norm)) {
        tokens[k] = { ...t, cls: 'function' };
        // "... steps should I follow to", "... can I take to".
        for (let m = k + 1; m < Math.min(tokens.length, k + 5); m++) {
          const u = tokens[m]!;
          if (u.cls === 'content' && FRAME_VERBS.has(u.norm) && tokens[m + 1]?.norm === 'to') tokens[m] = { ...u, cls: 'function' };
          if (u.cls !== 'function') break;
        }
        break;
      }
      if (t.cls !== 'function') break;
    }
  }
  return tokens;
}
