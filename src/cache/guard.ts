/**
 * The correctness guard: cheap lexical checks run before a semantic cache hit is served.
 * An embedding of a bag of tokens cannot tell "convert X to Y" from "convert Y to X", and no
 * embedding model reliably separates "do" from "don't" or "Python 2" from "Python 3", so a hit
 * is only served when
 *   - the numbers agree (digits, number words: "2" = "two"),
 *   - negation agrees (not, never, no, without, n't, ...),
 *   - named entities / rare tokens agree (capitalised words past a sentence start, ACRONYMS,
 *     code identifiers, letter+digit tokens), allowing one typo in longer words,
 *   - directional phrasings keep their direction ("from A to B", "convert A to B", "A into B",
 *     "A than B").
 * Casing, punctuation, politeness ("please", "could you") and reordering that keeps those
 * relations pass. Everything is linear-ish in the text length: a few microseconds per pair.
 */

export interface GuardVerdict {
  ok: boolean;
  /** Machine-readable-ish reason when !ok, e.g. `number-mismatch: 2 vs 3`. */
  reason?: string;
}

export interface Guard {
  agrees(cachedText: string, newText: string): GuardVerdict;
}

/** Function words, politeness and question words: never entities, never direction terms. */
const STOP = new Set(
  `a an the and or but if then so as of at by for from in into on off out over under to up down with within about above
  after again against all am any are be because been before being below between both can could did do does doing done
  during each few further had has have having he her here hers him his how i me my is it its itself just let may might
  more most must our ours own same shall she should some such than that their them there these they this those through
  too until very was we were what when where which while who whom whose why will would you your yours also please kindly
  hi hello hey thanks thank dear ok okay yes yeah tell explain give show help me us get got way best good better thing
  things something anything someone like want need know really actually is are was were will use using used`
    .split(/\s+/)
    .filter(Boolean),
);

const NEGATION_WORDS = new Set(['not', 'no', 'never', 'without', 'none', 'nobody', 'nothing', 'neither', 'nor', 'cannot', 'nowhere', 'dont', 'doesnt', 'didnt', 'isnt', 'arent', 'wasnt', 'werent', 'cant', 'couldnt', 'shouldnt', 'wouldnt', 'wont', 'havent', 'hasnt', 'hadnt', 'mustnt', 'aint']);

const NUMBER_WORDS: Record<string, string> = {
  zero: '0', two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8', nine: '9', ten: '10',
  eleven: '11', twelve: '12', thirteen: '13', fourteen: '14', fifteen: '15', sixteen: '16', seventeen: '17',
  eighteen: '18', nineteen: '19', twenty: '20', thirty: '30', forty: '40', fifty: '50', sixty: '60', seventy: '70',
  eighty: '80', ninety: '90', hundred: '100', thousand: '1000', million: '1000000', billion: '1000000000',
  dozen: '12', twice: '2', thrice: '3', third: '3', fourth: '4', fifth: '5', sixth: '6', seventh: '7',
  eighth: '8', ninth: '9', tenth: '10',
};

/** Verbs after which "X to Y" / "X into Y" is a direction. */
const DIRECTION_VERBS = new Set(
  `convert converts converting converted conversion translate translates translating translated translation migrate
  migrating migration switch switching change changing move moving transfer transferring port porting upgrade upgrading
  downgrade downgrading map mapping cast casting export exporting transform transforming send sending go going travel
  travelling traveling fly flying drive driving ship shipping rewrite rewriting turn turning compile compiling`
    .split(/\s+/)
    .filter(Boolean),
);

interface Token {
  /** As written. */
  raw: string;
  /** Lowercased, apostrophes removed, light plural stripping. */
  norm: string;
  /** True when the token starts a sentence. */
  sentenceStart: boolean;
}

const TOKEN_RE = /\d{1,3}(?:,\d{3})+(?:\.\d+)?%?|[\p{L}\p{N}_]+(?:[.'’\-][\p{L}\p{N}_]+)*%?|[.!?;:]/gu;

function stem(w: string): string {
  if (w.length > 4 && w.endsWith('ies')) return w.slice(0, -3) + 'y';
  if (w.length > 4 && /(ches|shes|xes|sses)$/.test(w)) return w.slice(0, -2);
  if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') && !w.endsWith('us') && !w.endsWith('is')) return w.slice(0, -1);
  return w;
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let start = true;
  for (const m of text.replace(/->|→|=>/g, ' dirarrow ').matchAll(TOKEN_RE)) {
    const raw = m[0];
    if (/^[.!?;:]$/.test(raw)) {
      start = raw !== ';' && raw !== ':' ? true : start;
      continue;
    }
    // Split hyphenated words that are not version-like ("sugar-free" -> sugar, free; "gpt-4" stays).
    const parts = /^[\p{L}]+(?:-[\p{L}]+)+$/u.test(raw) ? raw.split('-') : [raw];
    for (const p of parts) {
      const lower = p.toLowerCase().replace(/['’]s$/, '').replace(/[’']/g, '');
      out.push({ raw: p, norm: stem(lower), sentenceStart: start });
      start = false;
    }
  }
  return out;
}

function isNumberToken(t: Token): string | undefined {
  const lower = t.raw.toLowerCase();
  if (/^\d+(?:[.,]\d+)*(?:st|nd|rd|th|k|m|s|x|%)?$/.test(lower)) {
    const digits = lower.replace(/(st|nd|rd|th|s|x|%)$/, '');
    let mult = 1;
    let d = digits;
    if (d.endsWith('k')) (mult = 1000), (d = d.slice(0, -1));
    else if (d.endsWith('m')) (mult = 1_000_000), (d = d.slice(0, -1));
    // "1,000" is a thousands separator; "3.11" keeps its dot (a version or a decimal).
    const clean = /^\d{1,3}(,\d{3})+$/.test(d) ? d.replace(/,/g, '') : d.replace(',', '.');
    return mult === 1 ? clean : String(Number(clean) * mult);
  }
  return NUMBER_WORDS[lower];
}

/** Digit runs inside identifier-like tokens (python3, es2022, gpt-4o). */
function embeddedNumbers(t: Token): string[] {
  if (!/[a-z]/i.test(t.raw) || !/\d/.test(t.raw)) return [];
  return t.raw.match(/\d+(?:\.\d+)*/g) ?? [];
}

function isNegation(t: Token): boolean {
  const lower = t.raw.toLowerCase().replace(/’/g, "'");
  return NEGATION_WORDS.has(lower.replace(/'/g, '')) || lower.endsWith("n't");
}

type EntityKind = 'strong' | 'name' | undefined;

function isUpperWord(t: Token | undefined): boolean {
  return !!t && t.raw.length >= 2 && t.raw === t.raw.toUpperCase() && /\p{Lu}/u.test(t.raw);
}

function entityKind(t: Token, titleCase: boolean, prev: Token | undefined, next: Token | undefined): EntityKind {
  const raw = t.raw;
  if (STOP.has(t.norm) || NEGATION_WORDS.has(t.norm) || raw === 'I' || /^I['’]/.test(raw)) return undefined;
  if (/^\d/.test(raw) && !/[a-z]/i.test(raw)) return undefined; // plain numbers are checked separately
  if (/^(\p{L}\.)+\p{L}?$/u.test(raw)) return undefined; // e.g, i.e, U.S
  if (/_/.test(raw) || /\p{Ll}\p{Lu}/u.test(raw) || /\p{L}.*\d|\d.*\p{L}/u.test(raw) || /\.\p{L}/u.test(raw)) return 'strong';
  if (isUpperWord(t)) return isUpperWord(prev) && isUpperWord(next) ? undefined : 'name'; // SQL, USA; not SHOUTED PHRASES
  if (!titleCase && !t.sentenceStart && /^\p{Lu}/u.test(raw)) return 'name';
  return undefined;
}

/** Damerau-Levenshtein distance <= 1 (one insertion, deletion, substitution or transposition). */
function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > 1) return false;
  let i = 0;
  while (i < la && i < lb && a[i] === b[i]) i++;
  if (la === lb) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true; // substitution
    return i + 1 < la && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2); // transposition
  }
  return la > lb ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

/** Same word up to one typo, or a derived form sharing a 5+ letter stem (Europe / European). */
function similarWord(x: string, w: string): boolean {
  if (x.length < 4) return false;
  if (withinOneEdit(x, w)) return true;
  const [short, long] = x.length <= w.length ? [x, w] : [w, x];
  return short.length >= 5 && long.length - short.length <= 3 && long.startsWith(short.slice(0, -1));
}

function fuzzyHas(words: Set<string>, list: string[], w: string): boolean {
  if (words.has(w)) return true;
  if (w.length < 5) return false;
  for (const x of list) if (similarWord(x, w)) return true;
  return false;
}

interface Analysis {
  tokens: Token[];
  words: Set<string>;
  wordList: string[];
  numbers: Set<string>;
  negations: number;
  /** Capitalised words and acronyms: a mismatch needs a substitution (unmatched on both sides). */
  entities: Map<string, string>;
  /** Code identifiers and letter+digit tokens: must appear on both sides. */
  strong: Map<string, string>;
  /** Directed (source, target) pairs of normalized content words. */
  directions: [string, string][];
  positions: Map<string, number>;
}

function contentNeighbour(tokens: Token[], from: number, step: -1 | 1, limit: number): string | undefined {
  for (let i = from + step, n = 0; i >= 0 && i < tokens.length && n < limit; i += step, n++) {
    const w = tokens[i]!.norm;
    if (!STOP.has(w) && !NEGATION_WORDS.has(w) && !DIRECTION_VERBS.has(w) && w !== 'dirarrow') return w;
  }
  return undefined;
}

function analyse(text: string): Analysis {
  const tokens = tokenize(text);
  const alpha = tokens.filter((t) => /^\p{L}/u.test(t.raw));
  const capitalised = alpha.filter((t) => /^\p{Lu}/u.test(t.raw)).length;
  const titleCase = alpha.length >= 4 && capitalised / alpha.length > 0.6;
  const words = new Set<string>();
  const numbers = new Set<string>();
  const entities = new Map<string, string>();
  const strong = new Map<string, string>();
  const positions = new Map<string, number>();
  let negations = 0;
  tokens.forEach((t, i) => {
    words.add(t.norm);
    if (!positions.has(t.norm)) positions.set(t.norm, i);
    const n = isNumberToken(t);
    if (n !== undefined) numbers.add(n);
    for (const e of embeddedNumbers(t)) numbers.add(e);
    if (isNegation(t) && !(t.norm === 'not' && (tokens[i - 1]?.norm === 'or' || tokens[i + 1]?.norm === 'only'))) negations++;
    const kind = entityKind(t, titleCase, tokens[i - 1], tokens[i + 1]);
    if (kind === 'strong') strong.set(t.norm, t.raw);
    else if (kind === 'name') entities.set(t.norm, t.raw);
  });
  const directions: [string, string][] = [];
  tokens.forEach((t, i) => {
    const w = t.norm;
    if (w === 'to' || w === 'into' || w === 'than' || w === 'dirarrow' || w === 'over') {
      if (w === 'over' && !tokens.slice(Math.max(0, i - 4), i).some((x) => /^prefer/.test(x.norm))) return;
      if (w === 'to' || w === 'into') {
        // Needs "from" before it, or a direction verb within the four words before the source.
        const window = tokens.slice(Math.max(0, i - 5), i).map((x) => x.norm);
        const hasFrom = window.includes('from');
        if (!hasFrom && !window.some((x) => DIRECTION_VERBS.has(x))) return;
      }
      let leftFrom = i;
      // "A is bigger than B": the comparative itself is not the compared term.
      if (w === 'than') while (leftFrom > 0 && /(er|more|less|rather|other)$/.test(tokens[leftFrom - 1]!.norm)) leftFrom--;
      const left = contentNeighbour(tokens, leftFrom, -1, 3);
      const right = contentNeighbour(tokens, i, 1, 3);
      if (left && right && left !== right) directions.push([left, right]);
    } else if (w === 'from') {
      // "Y from X" without a following "to": X is the source.
      const rest = tokens.slice(i + 1, i + 5).map((x) => x.norm);
      if (rest.includes('to') || rest.includes('into')) return;
      const src = contentNeighbour(tokens, i, 1, 3);
      const dst = contentNeighbour(tokens, i, -1, 3);
      if (src && dst && src !== dst) directions.push([src, dst]);
    }
  });
  const wordList = [...words];
  return { tokens, words, wordList, numbers, negations, entities, strong, directions, positions };
}

function fmt(values: Iterable<string>): string {
  const list = [...values];
  return list.length === 0 ? '-' : list.slice(0, 4).join(',');
}

function compare(a: Analysis, b: Analysis): GuardVerdict {
  // Numbers: as sets, so "2 or 3" vs "3 or 2" agrees.
  const onlyA = [...a.numbers].filter((n) => !b.numbers.has(n));
  const onlyB = [...b.numbers].filter((n) => !a.numbers.has(n));
  if (onlyA.length || onlyB.length) return { ok: false, reason: `number-mismatch: ${fmt(onlyA)} vs ${fmt(onlyB)}` };

  if ((a.negations > 0) !== (b.negations > 0) || Math.abs(a.negations - b.negations) >= 2) {
    return { ok: false, reason: `negation-mismatch: ${a.negations} vs ${b.negations}` };
  }

  const strongB = [...a.strong].filter(([norm]) => !fuzzyHas(b.words, b.wordList, norm)).map(([, raw]) => raw);
  const strongA = [...b.strong].filter(([norm]) => !fuzzyHas(a.words, a.wordList, norm)).map(([, raw]) => raw);
  if (strongB.length || strongA.length) return { ok: false, reason: `identifier-mismatch: ${fmt(strongB)} vs ${fmt(strongA)}` };
  // A name only one side mentions is left to the similarity score; one name swapped for another
  // (Australia / Austria, Java / Python) is a mismatch.
  const missingInB = [...a.entities].filter(([norm]) => !fuzzyHas(b.words, b.wordList, norm)).map(([, raw]) => raw);
  const missingInA = [...b.entities].filter(([norm]) => !fuzzyHas(a.words, a.wordList, norm)).map(([, raw]) => raw);
  if (missingInB.length && missingInA.length) return { ok: false, reason: `entity-mismatch: ${fmt(missingInB)} vs ${fmt(missingInA)}` };

  const dir = checkDirection(a, b) ?? checkDirection(b, a);
  if (dir) return { ok: false, reason: dir };
  return { ok: true };
}

function findWord(x: Analysis, w: string): string | undefined {
  if (x.words.has(w)) return w;
  if (w.length < 5) return undefined;
  return x.wordList.find((y) => similarWord(y, w));
}

function checkDirection(a: Analysis, b: Analysis): string | undefined {
  for (const [src, dst] of a.directions) {
    const s = findWord(b, src);
    const d = findWord(b, dst);
    if (!s || !d) continue;
    if (b.directions.some(([x, y]) => x === d && y === s)) return `direction-mismatch: ${src}->${dst} vs ${dst}->${src}`;

  }
  return undefined;
}

/** A guard with a small cache of analysed texts (cached entries are compared repeatedly). */
export function createGuard(): Guard {
  const cache = new Map<string, Analysis>();
  const get = (text: string): Analysis => {
    let x = cache.get(text);
    if (!x) {
      x = analyse(text);
      if (cache.size >= 1024) cache.delete(cache.keys().next().value!);
      cache.set(text, x);
    }
    return x;
  };
  return {
    agrees(cachedText: string, newText: string): GuardVerdict {
      if (cachedText === newText) return { ok: true };
      return compare(get(cachedText), get(newText));
    },
  };
}
