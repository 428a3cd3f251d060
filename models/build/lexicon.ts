/**
 * Hand-written lexical data for the default model: stop words (zero vectors), English
 * inflection rules and irregular forms, and words common in chat prompts that WordNet lacks.
 * Written for this project; no third-party list was copied.
 */
import type { Pos } from './wordnet.js';

/** Function words and chat boilerplate: they get zero vectors, so mean pooling ignores them. */
export const STOP_WORDS = new Set(
  `a an the and or but if then else so as of at by for from in into onto on off out over under to up down with within
  about above after again against all am any are aren't be because been before being below between both can could
  did do does doing done during each few further had has have having he her here hers herself him himself his how i
  i'm me my myself is it its it's itself just let let's may me might more most must my nor now once only other ought
  our ours ourselves own same shall she should some such than that that's their theirs them themselves there these
  they this those through too until very was we were what when where which while who whom whose why will would you
  your yours yourself yourselves s t d ll m re ve y also any anyone anything etc e g ie eg please kindly could would
  can you tell explain give show help hi hello hey thanks thank dear sir madam ok okay yes yeah really just
  something someone somebody thing things way get got gets getting go goes going went gone make makes made making
  want wants wanted need needs needed know knows like one ones us via per whether though although since`
    .split(/\s+/)
    .filter(Boolean),
);

/**
 * Chat filler outside STOP_WORDS: words that frame a request ("I was wondering", "quick
 * question", "any help appreciated") without saying what is asked. The GloVe build
 * (build-glove.ts) gives them a small pooling weight; the default build does not read this list.
 */
export const FILLER_WORDS = new Set(
  `wondering wonder curious question questions quick quickly basically actually possible possibly appreciate appreciated
  advance assist assistance anyone anybody guys folks hoping hope trying figure certainly perhaps maybe kind sort
  wanted wanting asking ask wonderful great thankful grateful`
    .split(/\s+/)
    .filter(Boolean),
);

/**
 * Negation and contrast words are kept (with their own vector) rather than zeroed: they change
 * meaning, and the guard checks them too.
 */
export const NEGATIONS = new Set(['not', 'no', 'never', 'without', 'none', 'nothing', 'nobody', 'neither', 'nor', 'cannot', 'don', 'doesn', 'didn', 'isn', 'wasn', 'aren', 'weren', 'shouldn', 'wouldn', 'couldn', 'haven', 'hasn', 'hadn', 'mustn']);

/** Irregular verbs: base, past, past participle (extra forms separated by /). */
const IRREGULAR_VERBS = `arise arose arisen; awake awoke awoken; be was/were been; bear bore borne/born; beat beat beaten;
become became become; begin began begun; bend bent bent; bet bet bet; bind bound bound; bite bit bitten; bleed bled bled;
blow blew blown; break broke broken; breed bred bred; bring brought brought; build built built; burn burnt burnt;
burst burst burst; buy bought bought; catch caught caught; choose chose chosen; cling clung clung; come came come;
cost cost cost; creep crept crept; cut cut cut; deal dealt dealt; dig dug dug; do did done; draw drew drawn;
dream dreamt dreamt; drink drank drunk; drive drove driven; eat ate eaten; fall fell fallen; feed fed fed; feel felt felt;
fight fought fought; find found found; flee fled fled; fly flew flown; forbid forbade forbidden; forget forgot forgotten;
forgive forgave forgiven; freeze froze frozen; get got gotten; give gave given; go went gone; grind ground ground;
grow grew grown; hang hung hung; have had had; hear heard heard; hide hid hidden; hit hit hit; hold held held;
hurt hurt hurt; keep kept kept; kneel knelt knelt; know knew known; lay laid laid; lead led led; lean leant leant;
leap leapt leapt; learn learnt learnt; leave left left; lend lent lent; let let let; lie lay lain; light lit lit;
lose lost lost; make made made; mean meant meant; meet met met; pay paid paid; prove proved proven; put put put;
quit quit quit; read read read; ride rode ridden; ring rang rung; rise rose risen; run ran run; say said said;
see saw seen; seek sought sought; sell sold sold; send sent sent; set set set; shake shook shaken; shed shed shed;
shine shone shone; shoot shot shot; show showed shown; shrink shrank shrunk; shut shut shut; sing sang sung;
sink sank sunk; sit sat sat; sleep slept slept; slide slid slid; speak spoke spoken; speed sped sped; spend spent spent;
spin spun spun; split split split; spread spread spread; spring sprang sprung; stand stood stood; steal stole stolen;
stick stuck stuck; sting stung stung; strike struck struck; strive strove striven; swear swore sworn; sweep swept swept;
swim swam swum; swing swung swung; take took taken; teach taught taught; tear tore torn; tell told told;
think thought thought; throw threw thrown; understand understood understood; undertake undertook undertaken;
wake woke woken; wear wore worn; weave wove woven; weep wept wept; win won won; wind wound wound; withdraw withdrew withdrawn;
write wrote written; overcome overcame overcome; rewrite rewrote rewritten; override overrode overridden;
undo undid undone; upset upset upset; broadcast broadcast broadcast; forecast forecast forecast; mislead misled misled`;

const IRREGULAR_PLURALS = `man men; woman women; child children; person people; mouse mice; goose geese; tooth teeth; foot feet;
ox oxen; criterion criteria; phenomenon phenomena; analysis analyses; thesis theses; crisis crises; hypothesis hypotheses;
basis bases; axis axes; index indices/indexes; matrix matrices; vertex vertices; appendix appendices; datum data;
medium media; curriculum curricula; bacterium bacteria; cactus cacti; fungus fungi; nucleus nuclei; radius radii;
stimulus stimuli; syllabus syllabi; formula formulas/formulae; leaf leaves; life lives; knife knives; wife wives;
half halves; wolf wolves; shelf shelves; thief thieves; loaf loaves; calf calves; self selves; elf elves`;

const IRREGULAR_ADJ = `good better best; bad worse worst; far farther/further farthest/furthest; little less least; many more most;
much more most; well better best`;

export interface Inflection {
  form: string;
  lemma: string;
  irregular: boolean;
}

function parseTable(text: string): string[][] {
  return text
    .split(';')
    .map((e) => e.trim().split(/\s+/))
    .filter((e) => e.length >= 2 && e[0]!.length > 0);
}

const VOWEL = /[aeiou]/;

function sibilant(w: string): boolean {
  return /(s|x|z|ch|sh)$/.test(w);
}

function pluralS(w: string): string {
  if (/[^aeiou]y$/.test(w)) return w.slice(0, -1) + 'ies';
  if (sibilant(w)) return w + 'es';
  return w + 's';
}

/** Short CVC words double their last consonant: stop -> stopped, run -> running. */
function doubles(w: string): boolean {
  if (w.length < 3 || w.length > 5) return false;
  const [a, b, c] = [w[w.length - 3]!, w[w.length - 2]!, w[w.length - 1]!];
  if (/[wxy]/.test(c)) return false;
  const syllables = (w.match(/[aeiouy]+/g) ?? []).length;
  return syllables === 1 && !VOWEL.test(a) && VOWEL.test(b) && !VOWEL.test(c);
}

function pastEd(w: string): string {
  if (w.endsWith('e')) return w + 'd';
  if (/[^aeiou]y$/.test(w)) return w.slice(0, -1) + 'ied';
  if (doubles(w)) return w + w[w.length - 1] + 'ed';
  return w + 'ed';
}

function presentIng(w: string): string {
  if (w.endsWith('ie')) return w.slice(0, -2) + 'ying';
  if (/[^aeioy]e$/.test(w) && w !== 'be') return w.slice(0, -1) + 'ing';
  if (doubles(w)) return w + w[w.length - 1] + 'ing';
  return w + 'ing';
}

const irregularVerbs = new Map<string, string[]>();
for (const [base, past, pp] of parseTable(IRREGULAR_VERBS)) {
  irregularVerbs.set(base!, [...past!.split('/'), ...pp!.split('/')]);
}
const irregularPlurals = new Map<string, string[]>();
for (const [sg, pl] of parseTable(IRREGULAR_PLURALS)) irregularPlurals.set(sg!, pl!.split('/'));
const irregularAdj = new Map<string, string[]>();
for (const [base, cmp, sup] of parseTable(IRREGULAR_ADJ)) irregularAdj.set(base!, [...cmp!.split('/'), ...sup!.split('/')]);

/** Inflected forms of a single-word lemma for one part of speech (the lemma itself excluded). */
export function inflect(lemma: string, pos: Pos): Inflection[] {
  if (!/^[a-z]+$/.test(lemma)) return [];
  const out: Inflection[] = [];
  const add = (form: string, irregular: boolean) => {
    if (form !== lemma) out.push({ form, lemma, irregular });
  };
  if (pos === 'n') {
    const irr = irregularPlurals.get(lemma);
    if (irr) irr.forEach((f) => add(f, true));
    else if (!lemma.endsWith('ss') || lemma.length > 3) add(pluralS(lemma), false);
  } else if (pos === 'v') {
    add(pluralS(lemma), false);
    add(presentIng(lemma), false);
    const irr = irregularVerbs.get(lemma);
    if (irr) irr.forEach((f) => add(f, true));
    else add(pastEd(lemma), false);
    if (lemma === 'be') ['am', 'is', 'are', 'being'].forEach((f) => add(f, true));
    if (lemma === 'have') add('has', true);
    if (lemma === 'do') add('does', true);
  } else if (pos === 'a') {
    const irr = irregularAdj.get(lemma);
    if (irr) irr.forEach((f) => add(f, true));
    else if (lemma.length <= 6 && (lemma.match(/[aeiouy]+/g) ?? []).length <= 2) {
      const stem = /[^aeiou]y$/.test(lemma) ? lemma.slice(0, -1) + 'i' : lemma.endsWith('e') ? lemma.slice(0, -1) : doubles(lemma) ? lemma + lemma[lemma.length - 1] : lemma;
      add(stem + 'er', false);
      add(stem + 'est', false);
    }
  }
  return out;
}

/**
 * Words frequent in chat prompts (mostly computing) that WordNet lacks or lists under another
 * sense. They get their own identity vector plus the listed related words' meaning.
 */
export const EXTRA_WORDS: Record<string, string[]> = {
  javascript: ['language', 'programming', 'script'],
  typescript: ['javascript', 'language', 'programming'],
  python: ['language', 'programming'],
  java: ['language', 'programming'],
  golang: ['language', 'programming'],
  rust: ['language', 'programming'],
  kotlin: ['language', 'programming'],
  swift: ['language', 'programming'],
  php: ['language', 'programming'],
  ruby: ['language', 'programming'],
  perl: ['language', 'programming'],
  scala: ['language', 'programming'],
  haskell: ['language', 'programming'],
  csharp: ['language', 'programming'],
  cpp: ['language', 'programming'],
  html: ['markup', 'web', 'page'],
  css: ['style', 'web', 'page'],
  json: ['data', 'format'],
  yaml: ['data', 'format', 'configuration'],
  xml: ['markup', 'data', 'format'],
  csv: ['data', 'file', 'format'],
  sql: ['database', 'query'],
  mysql: ['database', 'sql'],
  postgres: ['database', 'sql'],
  postgresql: ['database', 'sql'],
  sqlite: ['database', 'sql'],
  mongodb: ['database'],
  redis: ['database', 'cache'],
  api: ['interface', 'programming'],
  apis: ['interface', 'programming'],
  http: ['protocol', 'web'],
  https: ['protocol', 'web', 'secure'],
  url: ['address', 'web'],
  urls: ['address', 'web'],
  linux: ['operating', 'system'],
  ubuntu: ['linux', 'operating', 'system'],
  windows: ['operating', 'system'],
  macos: ['operating', 'system'],
  ios: ['operating', 'system', 'phone'],
  android: ['operating', 'system', 'phone'],
  docker: ['container'],
  kubernetes: ['container', 'cluster'],
  git: ['version', 'control'],
  github: ['git', 'repository'],
  npm: ['package', 'javascript'],
  pip: ['package', 'python'],
  react: ['javascript', 'library'],
  angular: ['javascript', 'framework'],
  vue: ['javascript', 'framework'],
  nodejs: ['javascript', 'server'],
  django: ['python', 'framework'],
  flask: ['python', 'framework'],
  pandas: ['python', 'data'],
  numpy: ['python', 'array'],
  regex: ['pattern', 'expression'],
  async: ['asynchronous'],
  await: ['asynchronous', 'wait'],
  boolean: ['true', 'false'],
  int: ['integer'],
  str: ['string'],
  dict: ['dictionary'],
  enum: ['enumeration'],
  config: ['configuration'],
  params: ['parameter'],
  args: ['argument'],
  app: ['application'],
  apps: ['application'],
  email: ['mail', 'message'],
  emails: ['mail', 'message'],
  online: ['internet'],
  website: ['site', 'web'],
  websites: ['site', 'web'],
  internet: ['network'],
  smartphone: ['phone', 'mobile'],
  iphone: ['phone', 'mobile'],
  laptop: ['computer'],
  wifi: ['wireless', 'network'],
  bitcoin: ['currency', 'crypto'],
  crypto: ['currency', 'cryptography'],
  blockchain: ['ledger', 'crypto'],
  ai: ['artificial', 'intelligence'],
  ml: ['machine', 'learning'],
  llm: ['language', 'model'],
  gpt: ['language', 'model'],
  chatgpt: ['language', 'model', 'chatbot'],
  chatbot: ['chat', 'bot'],
  youtube: ['video', 'website'],
  google: ['search', 'company'],
  facebook: ['social', 'network'],
  instagram: ['social', 'photo'],
  twitter: ['social', 'network'],
  quora: ['question', 'website'],
  amazon: ['company', 'shopping'],
  microsoft: ['company', 'software'],
  apple: ['company', 'fruit'],
  covid: ['virus', 'pandemic'],
  upsc: ['exam'],
  ielts: ['exam', 'english'],
  gmat: ['exam'],
  mba: ['degree', 'business'],
  phd: ['degree', 'doctorate'],
  ceo: ['executive'],
  gst: ['tax'],
  usa: ['america', 'country'],
  uk: ['britain', 'country'],
  eu: ['europe', 'union'],
  india: ['country'],
  indian: ['india'],
  chinese: ['china'],
  american: ['america'],
  trump: ['president'],
  modi: ['minister'],
  hillary: ['clinton'],
  startup: ['company', 'business'],
  startups: ['company', 'business'],
  ok: ['okay'],
  lol: ['laugh'],
  todo: ['task'],
  login: ['log', 'account'],
  logout: ['log', 'account'],
  signup: ['register', 'account'],
  username: ['user', 'name'],
  password: ['secret', 'login'],
  passwords: ['secret', 'login'],
  debug: ['bug', 'error'],
  debugging: ['bug', 'error'],
  refactor: ['restructure', 'code'],
  deploy: ['deployment', 'release'],
  backend: ['server'],
  frontend: ['interface', 'browser'],
  localhost: ['local', 'server'],
  runtime: ['execution'],
  timestamp: ['time', 'date'],
  dataset: ['data', 'set'],
  datasets: ['data', 'set'],
  webpage: ['web', 'page'],
  ebook: ['book'],
  covid19: ['covid'],
  vs: ['versus'],
};
