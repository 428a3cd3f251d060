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
 *     "A than B"),
 *   - no content word was swapped for a different one ("fever in adults" / "fever in babies",
 *     "keep my changes" / "discard my changes"): after exact, inflection and typo matching, when
 *     both sides still have a content word left over, each left-over word needs a counterpart
 *     on the other side that is a near-synonym by the model's own word vectors (`wordSimilarity`),
 *     and no left-over pair may be a known opposite (WordNet antonyms plus a few technical
 *     contrasts). A word only one side has (an addition) is left to the similarity score.
 * Casing, punctuation, politeness ("please", "could you") and reordering that keeps those
 * relations pass. Everything is linear-ish in the text length: a few microseconds per pair.
 */

import { withinOneEdit } from './verify/text.js';
import { LEXICON_RELATED } from './paraphrases.js';
import type { WordSimilarity } from './word-similarity.js';

export interface GuardVerdict {
  ok: boolean;
  /** Machine-readable-ish reason when !ok, e.g. `number-mismatch: 2 vs 3`. */
  reason?: string;
}

export interface Guard {
  agrees(cachedText: string, newText: string): GuardVerdict;
}

export interface GuardOptions {
  /**
   * Cosine of two single words by the embedding model (src/cache/word-similarity.ts), or
   * undefined when unknown. Without it the substitution check only rejects known opposites.
   */
  wordSimilarity?: WordSimilarity;
  /** A left-over word whose best counterpart scores below this is a substitution (default 0.15). */
  substitutionSimilarity?: number;
}

/** Default word-similarity floor for a counterpart; see bench/lib/guard-substitution-tune.ts. */
export const DEFAULT_SUBSTITUTION_SIMILARITY = 0.15;

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
  /** (left, right) content words joined by a relation word ("miles in km", "applesauce for eggs"). */
  relations: [string, string][];
  positions: Map<string, number>;
  /** The substitution check's content words, read once per text (contentWordsOf). */
  content?: ContentWord[];
  /** Words of 3+ letters, not stop words, whose base form is generic (checkSubstitution), read once per text. */
  generic?: string[];
}

function contentNeighbour(tokens: Token[], from: number, step: -1 | 1, limit: number): string | undefined {
  for (let i = from + step, n = 0; i >= 0 && i < tokens.length && n < limit; i += step, n++) {
    const w = tokens[i]!.norm;
    if (!STOP.has(w) && !NEGATION_WORDS.has(w) && !DIRECTION_VERBS.has(w) && w !== 'dirarrow') return w;
  }
  return undefined;
}

/**
 * Words that relate the terms on their two sides asymmetrically: "X in Y" is not "Y in X".
 * to / into / from / than are the direction check's: "A to B" and "B from A" agree.
 */
const RELATION_WORDS = new Set(['in', 'for', 'per', 'of', 'on', 'by', 'with', 'instead']);

/** The nearest content word (not a stop word or a number) within three tokens. */
function relationNeighbour(tokens: Token[], from: number, step: -1 | 1): string | undefined {
  for (let i = from + step, n = 0; i >= 0 && i < tokens.length && n < 3; i += step, n++) {
    const t = tokens[i]!;
    if (/^[.!?;:]$/.test(t.raw)) return undefined;
    if (STOP.has(t.norm) || NEGATION_WORDS.has(t.norm) || isNumberToken(t) !== undefined) continue;
    return t.norm;
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
  const relations: [string, string][] = [];
  tokens.forEach((t, i) => {
    if (!RELATION_WORDS.has(t.norm)) return;
    const left = relationNeighbour(tokens, i, -1);
    const right = relationNeighbour(tokens, i, 1);
    if (left && right && left !== right) relations.push([left, right]);
  });
  const wordList = [...words];
  return { tokens, words, wordList, numbers, negations, entities, strong, directions, relations, positions };
}

function fmt(values: Iterable<string>): string {
  const list = [...values];
  return list.length === 0 ? '-' : list.slice(0, 4).join(',');
}

function compare(a: Analysis, b: Analysis, opts: GuardOptions): GuardVerdict {
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

  const dir = checkDirection(a, b) ?? checkDirection(b, a) ?? checkRelationSwap(a, b);
  if (dir) return { ok: false, reason: dir };

  const sub = checkSubstitution(a, b, opts);
  if (sub) return { ok: false, reason: sub };
  return { ok: true };
}

function findWord(x: Analysis, w: string): string | undefined {
  if (x.words.has(w)) return w;
  if (w.length < 5) return undefined;
  return x.wordList.find((y) => similarWord(y, w));
}

/**
 * The same two terms around a relation word, swapped: "how many miles in 10 km" vs "how many km in
 * 10 miles", "applesauce for eggs" vs "eggs for applesauce". Rejected only when the other side does
 * not also relate them in the original order.
 */
function checkRelationSwap(a: Analysis, b: Analysis): string | undefined {
  for (const [left, right] of a.relations) {
    const l = findWord(b, left);
    const r = findWord(b, right);
    if (!l || !r) continue;
    const swapped = b.relations.some(([x, y]) => x === r && y === l);
    const kept = b.relations.some(([x, y]) => x === l && y === r);
    if (swapped && !kept) return `order-mismatch: ${left}..${right} vs ${right}..${left}`;
  }
  return undefined;
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

/**
 * Opposites a substitution check rejects even when the word vectors call them similar: lexical
 * antonym pairs from WordNet 3.1 (`!` pointers between common single words, generated by
 * bench/lib/guard-antonyms-gen.ts) and, first, a hand-written list of technical contrasts.
 */
const CONTRAST_PAIRS = `
  add:remove add:delete add:drop keep:discard keep:delete keep:drop keep:remove keep:lose format:parse encode:decode
  encrypt:decrypt serialize:deserialize compress:decompress zip:unzip install:uninstall enable:disable upload:download
  import:export push:pull read:write show:hide lock:unlock mount:unmount merge:split join:split start:stop begin:stop
  minimum:maximum min:max increase:decrease increase:reduce raise:lower undo:redo ascending:descending before:after
  uppercase:lowercase upper:lower horizontally:vertically horizontal:vertical inner:outer left:right buy:sell
  rent:buy rent:own lend:borrow give:receive send:receive win:lose gain:lose hard:soft cheap:expensive
  heat:cool warm:cool freeze:thaw
  ability:inability able:unable abnormal:normal abolish:establish above:below absence:presence absent:present
  absolute:relative absorb:emit abstain:consume abstract:concrete abundance:scarcity accelerate:decelerate
  acceleration:deceleration accept:refuse accept:reject acceptable:unacceptable acceptance:rejection
  accidentally:deliberately accompanied:unaccompanied accuracy:inaccuracy accurate:inaccurate
  acquaintance:stranger acquit:convict act:refrain action:inaction active:dormant active:inactive active:passive
  active:quiet actively:passively actual:potential acute:chronic add:subtract adequacy:inadequacy
  adequate:inadequate adequately:inadequately adjusted:unadjusted admit:deny admit:exclude admit:reject
  adopted:native advance:back advance:recede advance:retreat advantage:disadvantage advisable:inadvisable
  aerobic:anaerobic affected:unaffected affirmation:reversal afraid:unafraid aged:young agitate:calm
  agitation:calmness agree:disagree agreement:disagreement ahead:back alive:dead all:some allow:deny
  allow:disallow alternate:opposite amateur:professional ambiguity:unambiguity ambiguous:unambiguous
  amicable:hostile ample:meager analysis:synthesis analytic:synthetic analyze:synthesize ancestor:descendant
  anglican:nonconformist angular:rounded anhydrous:hydrous animate:inanimate annual:perennial anode:cathode
  answer:question antagonistic:conciliatory antagonistic:synergistic anterior:posterior anti:pro
  antiseptic:septic appear:disappear appearance:disappearance applaud:boo appreciation:depreciation
  appropriate:inappropriate approval:disapproval approve:disapprove arm:disarm armament:disarmament
  armed:unarmed arrive:leave artificial:natural artificially:naturally ascend:descend ascending:descending
  asleep:awake assemble:disassemble assembly:disassembly assent:dissent asset:liability
  asymmetrically:symmetrically asymmetry:symmetry atrophied:hypertrophied attach:detach attached:detached
  attached:unattached attack:defend attend:miss attract:repel attraction:repulsion attractive:repulsive
  attractive:unattractive atypical:typical audible:inaudible aunt:uncle authorized:unauthorized
  available:unavailable avoid:confront aware:unaware away:home awkward:graceful back:front back:veer
  backward:forward bad:good badly:well badness:goodness balance:imbalance bare:covered basic:incidental
  bear:bull beautiful:ugly beauty:ugliness begin:end beginning:end beginning:ending beginning:middle
  believe:disbelieve bend:straighten best:worst better:worse better:worsen big:little birth:death black:white
  blacken:whiten bless:curse blessed:cursed bloodless:bloody blur:focus boil:freeze bold:timid boldness:timidity
  bore:interest born:unborn borrow:lend bottom:top bounce:clear bound:free boy:girl boycott:patronize
  brave:cowardly break:keep break:make break:repair breathing:breathless bright:dull brighten:darken
  broadly:narrowly broken:unbroken brother:sister busy:idle buttoned:unbuttoned buy:sell calm:stormy
  capable:incapable capitalism:socialism capitalistic:socialistic careful:careless carefully:carelessly
  cash:credit center:left center:right central:peripheral centralize:decentralize centrally:peripherally
  cerebral:emotional certain:uncertain certainty:uncertainty certified:uncertified certify:decertify change:stay
  changed:unchanged charge:discharge charged:uncharged cheap:expensive cheer:complain child:parent
  civilian:military claim:forfeit clarity:obscurity clasp:unclasp clean:dirty clean:unclean clear:cloudy
  clear:opaque clearheaded:confused clergy:laity clergyman:layman close:distant close:open closed:open
  closing:opening coarse:fine coarsely:finely coherent:incoherent cold:hot coldness:hotness
  collective:distributive comedy:tragedy comfort:discomfort comfortable:uncomfortable comfortably:uncomfortably
  common:individual common:uncommon communicate:excommunicate compact:loose compatible:incompatible
  competence:incompetence competition:cooperation competitive:noncompetitive complete:incomplete complex:simple
  complexity:simplicity complicate:simplify compromising:uncompromising con:pro concave:convex conceit:humility
  concentration:dilution concentration:distribution conception:misconception concern:unconcern
  concerned:unconcerned conditional:unconditional confident:diffident confine:free conform:deviate
  connect:disconnect conscious:unconscious consciously:unconsciously conservative:liberal
  considerable:inconsiderable consistent:inconsistent consonant:vowel consonantal:vocalic
  construction:misconstruction constructive:destructive contented:discontented continental:intercontinental
  continual:sporadic continuance:discontinuance continue:discontinue continuity:discontinuity contract:expand
  contraction:expansion convenience:inconvenience convenient:inconvenient conveniently:inconveniently
  conventional:nuclear conventional:unconventional converge:diverge convincing:unconvincing cool:heat cool:warm
  cooperative:uncooperative correct:falsify correct:incorrect courage:cowardice courteous:discourteous
  cover:uncover covertly:overtly credible:incredible critical:uncritical criticize:praise crooked:straight
  cry:laugh curly:straight curved:straight danger:safety dangerous:safe dark:light darken:lighten daughter:son
  day:night dead:live dead:living deaden:enliven decent:indecent decision:indecision declared:undeclared
  decline:improvement decrease:increase decreasing:increasing deep:shallow defeat:victory defend:prosecute
  defense:offense defense:prosecution defensive:offensive deficit:lead definite:indefinite
  deglycerolize:glycerolize delay:rush delicate:rugged demand:supply demote:promote depart:stay
  dependent:independent depersonalize:personalize deposit:withdraw depress:elate depression:elation
  deprive:enrich desirable:undesirable despair:hope destroyed:preserved determinate:indeterminate
  developed:undeveloped differ:equal difference:sameness different:same differentiate:integrate
  differentiated:undifferentiated difficult:easy difficulty:ease diligent:negligent direct:indirect
  direct:inverse directly:indirectly disable:enable disabling:enabling discharge:enlist discourage:encourage
  disengage:engage dishonest:honest dishonor:honor disintegrate:integrate dislike:like dislike:liking
  dislodge:lodge disloyalty:loyalty disobedience:obedience disobedient:obedient disobey:obey disorder:order
  disordered:ordered disorderly:orderly disorganized:organized displeased:pleased disproportionate:proportionate
  disprove:prove disqualify:qualify disrepute:repute dissatisfaction:satisfaction disservice:service
  dissimilar:similar dissuade:persuade distal:proximal distinct:indistinct distinguishable:indistinguishable
  distrust:trust divest:invest divide:multiply divide:unite divided:united docile:stubborn domestic:foreign
  dominant:subordinate domineering:submissive double:single dove:hawk downgrade:upgrade downstairs:upstairs
  downstream:upstream downward:upward dramatic:lyric dress:undress driver:nondriver dry:sweet dry:wet
  dryness:wetness due:undue dull:lively dull:sharp dull:sharpen early:late early:middle east:west
  eastern:western easy:uneasy effectively:ineffectively eligible:ineligible empirical:theoretical
  empirically:theoretically employed:unemployed employee:employer employment:unemployment emptiness:fullness
  empty:fill empty:full end:middle enforce:exempt enjoy:suffer enthusiastic:unenthusiastic equality:inequality
  equally:unequally equivalence:nonequivalence erase:record even:odd even:uneven ever:never evil:good
  exclude:include exclusive:inclusive existent:nonexistent expected:unexpected experience:inexperience
  experienced:inexperienced explicit:implicit export:import expressible:inexpressible extensive:intensive
  exterior:interior external:internal extinguish:ignite extraordinary:ordinary fail:manage fail:pass
  fail:succeed failure:success fair:foul fair:unfair faithful:unfaithful fall:rise falling:rising false:true
  falsity:truth familiar:strange familiar:unfamiliar fancy:plain far:near fast:slow fasten:unfasten
  fastened:unfastened fat:thin father:mother favorable:unfavorable feed:starve female:male feminine:masculine
  femininity:masculinity few:many fewer:more fidelity:infidelity figurative:literal figuratively:literally
  figure:ground find:lose finish:start finite:infinite fire:hire first:last first:second fit:unfit fixed:unfixed
  flat:natural flat:sharp flatten:sharpen flexible:inflexible float:sink foe:friend fold:unfold follow:precede
  follower:leader following:leading folly:wisdom foolish:wise foot:head forbid:permit forceful:forceless
  foreign:native forget:mind forget:remember formal:informal formalism:imitation formally:informally
  former:latter fortunate:unfortunate fortunately:unfortunately forward:reverse found:lost fractional:whole
  frail:robust free:obstruct frequent:infrequent fresh:preserved fresh:salty fresh:stale friendly:hostile
  frivolous:serious front:rear frozen:unfrozen full:thin functional:nonfunctional functional:organic future:past
  future:present gain:loss gain:reduce gaseous:liquid gaseous:solid gather:spread general:local
  general:particular general:specific generalist:specialist generalize:specify generally:specifically
  geographic:magnetic give:take glad:sad glorious:inglorious gradual:steep gradual:sudden grateful:ungrateful
  gratitude:ingratitude greater:lesser green:ripe gross:net guilt:innocence guilty:innocent hairless:hairy
  half:whole happily:sadly happiness:sadness happiness:unhappiness happy:unhappy hard:soft harden:soften
  hardened:soft hate:love have:lack have:miss head:rear head:tail headed:headless healthy:unhealthy heaven:hell
  heavily:lightly heavy:light here:there hesitantly:unhesitatingly heterogeneous:homogeneous
  heterozygous:homozygous hide:show high:low hit:miss hitch:unhitch hollow:solid hollowness:solidity
  hopeful:hopeless hopefully:hopelessly horizontal:inclined horizontal:vertical hospitable:inhospitable
  host:parasite humane:inhumane humble:proud humility:pride hungry:thirsty hurried:unhurried
  hurriedly:unhurriedly husband:wife hydrophilic:hydrophobic idle:run idle:work ignore:know ignore:notice
  ill:well illegal:legal illegitimacy:legitimacy illegitimate:legitimate illiterate:literate immaterial:material
  immature:mature immobility:mobility immoral:moral immortal:mortal immortality:mortality impaired:unimpaired
  impartial:partial impatience:patience impatient:patient impatiently:patiently imperfect:perfect
  imperfectly:perfectly impersonal:personal important:unimportant impossible:possible impotency:potency
  impotent:potent impractical:practical imprecise:precise impressive:unimpressive improbable:probable
  improperly:properly impropriety:propriety improved:unimproved impurity:purity inclined:vertical
  incoming:outgoing indoor:outdoor indoors:outdoors induced:spontaneous inferior:superior
  inferiority:superiority infield:outfield inflow:outflow injustice:justice inner:outer inorganic:organic
  insane:sane insanity:sanity insensitive:sensitive inside:outside insignificance:significance
  insignificant:significant insignificantly:significantly insoluble:soluble instability:stability
  instrumental:vocal insubstantial:substantial insufficient:sufficient insufficiently:sufficiently
  integrated:segregated intelligence:stupidity intelligent:unintelligent intended:unintended intense:mild
  intentionally:unintentionally interdepartmental:intradepartmental interference:noninterference
  international:national intolerance:tolerance invalidate:validate invariable:variable invisible:visible
  involuntary:voluntary involved:uninvolved invulnerability:vulnerability invulnerable:vulnerable inward:outward
  inwardly:outwardly ionic:nonionic irrational:rational irrationally:rationally irregular:regular
  irregularity:regularity irregularly:regularly irrelevant:relevant irresolute:resolute
  irresponsibility:responsibility irresponsible:responsible irreversible:reversible irritate:soothe issue:recall
  joint:separate joy:sorrow junior:senior just:unjust keep:lose kind:unkind king:queen known:unknown lady:lord
  large:small lash:unlash late:middle lean:rich least:most left:right lengthen:shorten less:more let:prevent
  level:raise lie:sit lie:stand like:unlike likely:unlikely limited:unlimited linear:planar lined:unlined
  linger:rush linguistic:nonlinguistic liquid:solid little:much live:recorded loaded:unloaded loading:unloading
  local:national location:studio lock:unlock long:short loose:tight loosen:stiffen lose:profit lose:win
  loser:winner lost:saved loud:soft loudly:softly lower:raise lowered:raised luckily:unluckily lucky:unlucky
  major:minor majority:minority man:woman married:unmarried mask:unmask maximal:minimal maximize:minimize
  maximum:minimum meaningful:meaningless mental:physical merciful:merciless metallic:nonmetallic mistrust:trust
  misused:used move:stay moving:still multilateral:unilateral multiple:single nadir:zenith naive:sophisticated
  narrow:wide narrow:widen nasty:nice natural:sharp natural:supernatural natural:unnatural
  necessarily:unnecessarily necessary:unnecessary negative:neutral negative:positive nephew:niece
  neutral:positive new:old new:worn noisily:quietly noisy:quiet nominal:real nonparticulate:particulate
  nonpolitical:political nonresident:resident nonspecific:specific nonvolatile:volatile north:south
  northern:southern numerical:verbal objective:subjective oblique:parallel obscurity:prominence obverse:reverse
  occupied:unoccupied official:unofficial offshore:onshore often:rarely old:young oleophilic:oleophobic
  open:shut opposed:unopposed optimism:pessimism optimistic:pessimistic orthodox:unorthodox other:same out:safe
  overachievement:underachievement overestimate:underestimate overhead:subsurface overhead:surface pack:unpack
  paid:unpaid pain:pleasure painful:painless partly:wholly passing:running past:present patriotic:unpatriotic
  paved:unpaved peace:war penalty:reward permanently:temporarily pleasant:unpleasant pleasantly:unpleasantly
  poor:rich popular:unpopular porosity:solidity postwar:prewar poverty:wealth powerful:powerless precede:succeed
  preceding:succeeding precocious:retarded predictable:unpredictable preparation:resolution prepared:unprepared
  primarily:secondarily primary:secondary private:public privately:publicly privileged:underprivileged
  profane:sacred profound:superficial profundity:superficiality proximate:ultimate published:unpublished
  pull:push purge:rehabilitate qualified:unqualified qualitative:quantitative quickly:slowly ready:unready
  real:unreal realistic:unrealistic realistically:unrealistically reality:unreality reassure:worry
  reconstructed:unreconstructed related:unrelated reliable:unreliable resist:surrender restricted:unrestricted
  ride:walk right:wrong right:wrongly rise:set rough:smooth roughen:smooth roughness:smoothness round:square
  running:standing rural:urban satisfactory:unsatisfactory saturated:unsaturated scientific:unscientific
  scramble:unscramble seated:standing selfish:unselfish selfishness:unselfishness separation:union
  settled:unsettled sharpen:soften sharpness:softness shaven:unshaven short:tall shout:whisper shrink:stretch
  side:top signed:unsigned silence:sound sink:source sit:stand sleep:wake smart:stupid smilingly:unsmilingly
  solved:unsolved sour:sweet sparkling:still spoken:written stable:unstable stained:unstained stand:yield
  start:stop steadily:unsteadily stifle:stimulate strength:weakness strengthen:weaken stressed:unstressed
  strong:weak strongly:weakly structured:unstructured subsurface:surface successful:unsuccessful succumb:survive
  suitably:unsuitably sympathetic:unsympathetic tame:wild tender:tough thematic:unthematic thick:thin
  thicken:thin thickly:thinly thickness:thinness thoughtful:thoughtless thrifty:wasteful tie:untie unusual:usual
  unveil:veil unwelcome:welcome unwilling:willing unwillingness:willingness unwind:wind unwire:wire
  unwittingly:wittingly unworthy:worthy unwritten:written useful:useless usefulness:uselessness
  valuable:worthless vernal:wintry wane:wax waning:waxing worth:worthlessness
`;
const CONTRAST = new Set<string>();
for (const pair of CONTRAST_PAIRS.split(/\s+/).filter(Boolean)) {
  const [x, y] = pair.split(':') as [string, string];
  CONTRAST.add(`${x}:${y}`);
  CONTRAST.add(`${y}:${x}`);
}

/**
 * Light words for the substitution check only: never a substituted word themselves, and never an
 * anchor ("format a date" / "turn a date into a string", "what is considered a fever" / "what
 * temperature counts as a fever").
 */
const GENERIC = new Set(
  `way method approach make do get go turn take put find work thing kind type lot bit step possible able example
  question tip idea simple easy quick fast good great proper properly correct correctly right exactly basically even
  still people mean meaning call term difference compare versus vs describe define definition understand recommend
  suggest suggestion advice option come try say one someone anyone everyone else many much consider count normal
  typical usual ideal recommended command along across around near toward towards onto upon via per among`
    .split(/\s+/)
    .filter(Boolean),
);

/** After "how", these ask for a quantity ("how long", "how many minutes"): not content words there. */
const HOW_WORDS = new Set(['long', 'many', 'much', 'often', 'far', 'big', 'old', 'soon', 'large', 'tall', 'fast', 'quickly']);

/** Candidate base forms of an inflected word (plural, past, -ing, comparative, -ly). */
function baseForms(w: string): string[] {
  const out = [w];
  const add = (x: string) => {
    if (x.length >= 3) out.push(x);
  };
  const undouble = (x: string) => (x.length >= 4 && x[x.length - 1] === x[x.length - 2] && !/[aeiouls]$/.test(x) ? x.slice(0, -1) : x);
  for (const [suf, reps] of [
    ['ies', ['y']], ['ied', ['y']], ['ier', ['y']], ['iest', ['y']], ['ily', ['y']], ['es', ['', 'e']], ['s', ['']], ['ed', ['', 'e']],
    ['ing', ['', 'e']], ['er', ['', 'e']], ['est', ['', 'e']], ['ly', ['', 'le']],
  ] as [string, string[]][]) {
    if (!w.endsWith(suf)) continue;
    const stemmed = w.slice(0, -suf.length);
    for (const r of reps) add(stemmed + r);
    if (suf === 'ed' || suf === 'ing' || suf === 'er' || suf === 'est') add(undouble(stemmed));
  }
  return out;
}

interface ContentWord {
  /** Lowercased as written. */
  word: string;
  norm: string;
  bases: string[];
}

/** Content words in text order (first occurrence), without stop, generic, number and identifier words. */
function contentWords(x: Analysis): ContentWord[] {
  const out: ContentWord[] = [];
  const seen = new Set<string>();
  x.tokens.forEach((t, i) => {
    const w = t.norm;
    if (seen.has(w)) return;
    seen.add(w);
    if (w.length < 3 || !/^\p{L}+$/u.test(w) || STOP.has(w) || NEGATION_WORDS.has(w) || NUMBER_WORDS[w] !== undefined) return;
    if (x.strong.has(w)) return; // identifiers are checked on their own
    if (HOW_WORDS.has(w) && x.tokens[i - 1]?.norm === 'how') return;
    const bases = baseForms(w);
    if (bases.some((b) => GENERIC.has(b))) return;
    out.push({ word: t.raw.toLowerCase(), norm: w, bases });
  });
  return out;
}

/** contentWords of a text, computed on its first comparison: a stored prompt is compared again and again. */
function contentWordsOf(x: Analysis): ContentWord[] {
  return (x.content ??= contentWords(x));
}

function genericWordsOf(x: Analysis): string[] {
  return (x.generic ??= x.wordList.filter((w) => w.length >= 3 && !STOP.has(w) && baseForms(w).some((y) => GENERIC.has(y))));
}

/** Same word up to inflection or one typo. */
function sameWord(a: ContentWord, b: ContentWord): boolean {
  if (a.norm === b.norm) return true;
  if (a.norm.length >= 4 && b.norm.length >= 4 && similarWord(a.norm, b.norm)) return true;
  for (const x of a.bases) if (b.bases.includes(x)) return true;
  return false;
}

function isContrast(a: ContentWord, b: ContentWord): boolean {
  for (const x of a.bases) for (const y of b.bases) if (CONTRAST.has(`${x}:${y}`)) return true;
  return false;
}

/**
 * Two words of one paraphrase-lexicon group (models/<model>/paraphrases.json) whose usage agrees
 * (the same floor as the verifier's alignment): "rent" / "hire" is a rewording, not a swap.
 */
function lexiconSynonyms(sim: WordSimilarity, x: ContentWord, y: ContentWord): boolean {
  if (!sim.lexicon || !sim.related || !sim.lexicon.shareGroup(x.word, y.word)) return false;
  return (sim.related(x.word, y.word) ?? 0) >= LEXICON_RELATED;
}

/** Word similarity at or above which two words are synonyms (an anchor, like an exact match). */
const SYNONYM_SIMILARITY = 0.45;
/** At most this many left-over content words per side for a pair to count as a substitution. */
const MAX_SUBSTITUTED = 2;
const START = -1;
const END = -2;

/**
 * A substitution is a left-over word on each side in the same slot: between the same matched
 * words (or the text's start / end), e.g. "fever in [adults]" / "fever in [babies]", whose word
 * similarity is below the floor. A known opposite (CONTRAST) anywhere is a substitution too.
 * Rephrasings move words around, so their left-over words rarely share a slot.
 */
function checkSubstitution(a: Analysis, b: Analysis, opts: GuardOptions): string | undefined {
  const ca = contentWordsOf(a);
  const cb = contentWordsOf(b);
  if (ca.length === 0 || cb.length === 0) return undefined;
  const sim = opts.wordSimilarity;
  const floor = opts.substitutionSimilarity ?? DEFAULT_SUBSTITUTION_SIMILARITY;
  // Anchor ids: a matched pair gets the index of its word in `ca`; left-over words get undefined.
  const anchorA: (number | undefined)[] = ca.map(() => undefined);
  const anchorB: (number | undefined)[] = cb.map(() => undefined);
  ca.forEach((x, i) => {
    const j = cb.findIndex((y, k) => anchorB[k] === undefined && sameWord(x, y));
    if (j >= 0) (anchorA[i] = i), (anchorB[j] = i);
  });
  // Words also written on the other side as a stop or generic word are not left over either.
  ca.forEach((x, i) => {
    if (anchorA[i] === undefined && b.words.has(x.norm)) anchorA[i] = -10 - i;
  });
  cb.forEach((y, j) => {
    if (anchorB[j] === undefined && a.words.has(y.norm)) anchorB[j] = -1000 - j;
  });
  // Left over so far. The synonym pass below anchors at most one B word per A word, so the
  // outcome is known early when the counts already rule a substitution out: none left on one side
  // (an addition), or more than MAX_SUBSTITUTED left on a side whatever the pass anchors (a broader
  // rewording). Those cases return undefined below too; stopping early saves the word-vector work.
  let leftA = 0;
  let leftB = 0;
  for (const x of anchorA) if (x === undefined) leftA++;
  for (const y of anchorB) if (y === undefined) leftB++;
  if (leftA === 0 || leftB === 0 || Math.abs(leftA - leftB) > MAX_SUBSTITUTED) return undefined;
  if (sim) {
    // A words that found no synonym stay left over: past MAX_SUBSTITUTED of them, the answer is undefined.
    let unmatchedA = 0;
    for (let i = 0; i < ca.length; i++) {
      if (anchorA[i] !== undefined) continue;
      const x = ca[i]!;
      const j = cb.findIndex((y, k) => anchorB[k] === undefined && ((sim(x.norm, y.norm) ?? -1) >= SYNONYM_SIMILARITY || lexiconSynonyms(sim, x, y)));
      if (j >= 0) (anchorA[i] = i), (anchorB[j] = i);
      else if (++unmatchedA > MAX_SUBSTITUTED) return undefined;
    }
  }
  const restA = ca.map((_, i) => i).filter((i) => anchorA[i] === undefined);
  const restB = cb.map((_, j) => j).filter((j) => anchorB[j] === undefined);
  if (restA.length === 0 || restB.length === 0) return undefined; // an addition, not a substitution
  // Only near-minimal pairs: the same frame with a word or two swapped. A broader rewording is
  // left to the similarity score, since the word vectors miss too many synonyms for it.
  if (restA.length > MAX_SUBSTITUTED || restB.length > MAX_SUBSTITUTED) return undefined;
  const sharedGeneric = genericWordsOf(a).filter((w) => b.words.has(w)).length;
  const matched = anchorA.filter((x) => x !== undefined && x >= 0).length + sharedGeneric;
  if (matched < 1) return undefined;
  for (const i of restA) for (const j of restB) if (isContrast(ca[i]!, cb[j]!)) return `substitution: ${ca[i]!.word} vs ${cb[j]!.word}`;
  if (!sim) return undefined;
  const slot = (anchors: (number | undefined)[], i: number): string => {
    let left = START;
    for (let k = i - 1; k >= 0; k--) if (anchors[k] !== undefined && anchors[k]! >= 0) (left = anchors[k]!), (k = -1);
    let right = END;
    for (let k = i + 1; k < anchors.length; k++) if (anchors[k] !== undefined && anchors[k]! >= 0) (right = anchors[k]!), (k = anchors.length);
    return `${left}:${right}`;
  };
  // A left-over word is an orphan when no left-over word in its slot on the other side is a
  // near-synonym (or a compound part: "houseplants" / "house plants").
  const related = (x: ContentWord, y: ContentWord): boolean =>
    (x.norm.length >= 4 && y.norm.length >= 4 && (x.norm.includes(y.norm) || y.norm.includes(x.norm))) || (sim(x.norm, y.norm) ?? -1) >= floor || lexiconSynonyms(sim, x, y);
  const slotsA = new Map(restA.map((i) => [i, slot(anchorA, i)]));
  const slotsB = new Map(restB.map((j) => [j, slot(anchorB, j)]));
  for (const i of restA) {
    const peers = restB.filter((j) => slotsB.get(j) === slotsA.get(i));
    if (peers.length === 0 || peers.some((j) => related(ca[i]!, cb[j]!))) continue;
    const orphanB = peers.find((j) => !restA.some((k) => slotsA.get(k) === slotsB.get(j) && related(ca[k]!, cb[j]!)));
    if (orphanB !== undefined) return `substitution: ${ca[i]!.word} vs ${cb[orphanB]!.word}`;
  }
  return undefined;
}

/** Each of the guard's checks on its own (true = that check finds a mismatch), for the verifier's features. */
export interface GuardFindings {
  number: boolean;
  negation: boolean;
  identifier: boolean;
  entity: boolean;
  direction: boolean;
  substitution: boolean;
}

function findings(a: Analysis, b: Analysis, opts: GuardOptions): GuardFindings {
  const number = [...a.numbers].some((n) => !b.numbers.has(n)) || [...b.numbers].some((n) => !a.numbers.has(n));
  const negation = (a.negations > 0) !== (b.negations > 0) || Math.abs(a.negations - b.negations) >= 2;
  const identifier =
    [...a.strong].some(([norm]) => !fuzzyHas(b.words, b.wordList, norm)) || [...b.strong].some(([norm]) => !fuzzyHas(a.words, a.wordList, norm));
  const entity =
    [...a.entities].some(([norm]) => !fuzzyHas(b.words, b.wordList, norm)) && [...b.entities].some(([norm]) => !fuzzyHas(a.words, a.wordList, norm));
  const direction = Boolean(checkDirection(a, b) ?? checkDirection(b, a) ?? checkRelationSwap(a, b));
  const substitution = Boolean(checkSubstitution(a, b, opts));
  return { number, negation, identifier, entity, direction, substitution };
}

/** Analysed texts a guard keeps, least recently used out first (about 5 KB each). */
const ANALYSES_KEPT = 4096;

/** A guard with a cache of analysed texts (cached entries are compared repeatedly). */
export function createGuard(opts: GuardOptions = {}): Guard & { findings(cachedText: string, newText: string): GuardFindings } {
  const cache = new Map<string, Analysis>();
  const get = (text: string): Analysis => {
    let x = cache.get(text);
    if (x) {
      cache.delete(text);
      cache.set(text, x);
    } else {
      x = analyse(text);
      if (cache.size >= ANALYSES_KEPT) cache.delete(cache.keys().next().value!);
      cache.set(text, x);
    }
    return x;
  };
  return {
    agrees(cachedText: string, newText: string): GuardVerdict {
      if (cachedText === newText) return { ok: true };
      return compare(get(cachedText), get(newText), opts);
    },
    findings(cachedText: string, newText: string): GuardFindings {
      return findings(get(cachedText), get(newText), opts);
    },
  };
}
