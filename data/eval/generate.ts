/**
 * Builds the project's adversarial evaluation set (data/eval/adversarial-{dev,test}.jsonl) from
 * the hand-written pairs in handwritten.jsonl plus templates x vocabulary written here, before
 * any tuning of the cache's decision. Run once by hand (`npx tsx data/eval/generate.ts`); the
 * output is committed and frozen, and no `make` target rewrites it.
 *
 * Each row: { kind, domain, a, b, label, source, group }. label true = the same question (a
 * cache may answer b with a's answer). Kinds:
 *   should hit:  reorder, filler, typo, reword, verbose
 *   should miss: negation, number, entity, scope, format, role-swap
 * The split is by `group` (a template, or one hand-written base question), by a hash, so the test
 * split holds whole templates the dev split never shows: tuning on dev cannot learn test's frames
 * or vocabulary. The test split is never used for tuning or training.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface Row {
  kind: string;
  domain: string;
  a: string;
  b: string;
  label: boolean;
  source: 'hand' | 'template';
  group: string;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const rows: Row[] = [];
const SHOULD_HIT = new Set(['reorder', 'filler', 'typo', 'reword', 'verbose']);

function push(kind: string, domain: string, a: string, b: string, source: Row['source'], group: string): void {
  if (a === b) throw new Error(`identical pair in ${group}: ${a}`);
  rows.push({ kind, domain, a, b, label: SHOULD_HIT.has(kind), source, group });
}

/** Deterministic pseudo-random from a string (for typo positions and wrapper choice). */
function hash(s: string): number {
  return crypto.createHash('sha256').update(s).digest().readUInt32BE(0);
}

// ---- hand-written pairs
const hand = fs
  .readFileSync(path.join(HERE, 'handwritten.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Omit<Row, 'source' | 'group'>);
hand.forEach((h, i) => push(h.kind, h.domain, h.a, h.b, 'hand', `hand-${h.kind}-${i}`));

// ---- base questions for the mechanical should-hit kinds (filler, typo, verbose): the first
// sides of the hand-written rewordings plus a few more, each its own group.
const extraBases: [string, string][] = [
  ['coding', 'How do I remove an element from an array in JavaScript?'],
  ['coding', 'What is the difference between an interface and an abstract class in Java?'],
  ['ops', 'How do I change the default shell for a user in Linux?'],
  ['ops', 'How can I limit the memory a Docker container uses?'],
  ['data', 'How do I pivot a table in PostgreSQL?'],
  ['data', 'What does a p-value tell me in a hypothesis test?'],
  ['travel', 'What is the cheapest way to travel around Europe by train?'],
  ['travel', 'How do I get a refund for a cancelled flight?'],
  ['money', 'How are capital gains on stocks taxed?'],
  ['money', 'What is a good savings rate for retirement?'],
  ['language', 'What is the difference between its and it’s?'],
  ['language', 'How do I improve my English pronunciation?'],
  ['science', 'How do antibiotics kill bacteria?'],
  ['science', 'Why does the moon have phases?'],
  ['everyday', 'How do I get rid of fruit flies in the kitchen?'],
  ['everyday', 'How long can cooked rice stay in the fridge?'],
];
const bases: [string, string][] = [...hand.filter((h) => h.kind === 'reword').map((h) => [h.domain, h.a] as [string, string]), ...extraBases];

const lowerFirst = (q: string) => (/^[A-Z][a-z]/.test(q) && !/^I\b/.test(q) ? q[0]!.toLowerCase() + q.slice(1) : q);
const FILLERS: ((q: string) => string)[] = [
  (q) => `Hi! ${q} Thanks in advance.`,
  (q) => `Could you please tell me: ${lowerFirst(q)}`,
  (q) => `Quick question - ${lowerFirst(q)}`,
  (q) => `Hey there, ${lowerFirst(q)} Thank you so much!`,
  (q) => `${q} Any help would be really appreciated.`,
  (q) => `Hello, I hope you're doing well. ${q}`,
  (q) => `Please help me out: ${lowerFirst(q)} Thanks!`,
  (q) => `I was just wondering, ${lowerFirst(q)}`,
];

/** One typo in each of one or two words of 5+ letters: swap, drop, double or replace a letter. */
function typo(q: string, seed: string): string {
  const words = q.split(' ');
  const idx = words.map((w, i) => (/^[a-z]{5,}[?.,]?$/.test(w) ? i : -1)).filter((i) => i >= 0);
  if (idx.length === 0) return q;
  const picks = [idx[hash(seed) % idx.length]!];
  if (idx.length > 3) picks.push(idx[hash(seed + 'x') % idx.length]!);
  for (const [n, i] of [...new Set(picks)].entries()) {
    const w = words[i]!;
    const letters = w.replace(/[?.,]$/, '');
    const tail = w.slice(letters.length);
    const p = 1 + (hash(seed + n) % (letters.length - 2));
    const op = hash(seed + 'op' + n) % 4;
    let out: string;
    if (op === 0) out = letters.slice(0, p) + letters[p + 1] + letters[p] + letters.slice(p + 2);
    else if (op === 1) out = letters.slice(0, p) + letters.slice(p + 1);
    else if (op === 2) out = letters.slice(0, p) + letters[p] + letters.slice(p);
    else out = letters.slice(0, p) + (letters[p] === 'e' ? 'a' : 'e') + letters.slice(p + 1);
    words[i] = out + tail;
  }
  return words.join(' ');
}

const CONTEXT: Record<string, [string, string][]> = {
  coding: [
    ["I'm a junior developer and my tech lead is on vacation this week.", "I'd like to understand it rather than just copy a snippet."],
    ['I have been stuck on this for an hour and the docs confuse me.', 'A short example would be great.'],
  ],
  ops: [
    ['We run a handful of servers for a small company and I am the only one on call.', 'I want to get this right before the weekend.'],
    ['Our previous admin left and I inherited the infrastructure.', 'Please keep the answer practical.'],
  ],
  data: [
    ['I am preparing a report for my manager due tomorrow.', 'I would appreciate a clear explanation.'],
    ['I am new to data analysis and teaching myself from online courses.', 'Thanks for keeping it simple.'],
  ],
  travel: [
    ['My family is planning our first trip abroad in years.', 'We want to avoid surprises.'],
    ['I travel a lot for work but this is new to me.', 'Any practical tips are welcome.'],
  ],
  money: [
    ["I'm trying to get my personal finances in order this year.", 'I am not an expert, so plain language helps.'],
    ['My parents never talked about money with me.', 'I want to make a sensible decision.'],
  ],
  language: [
    ['English is my second language and I write a lot of emails at work.', 'Examples would help me remember.'],
    ['I am helping my daughter with her homework tonight.', 'I want to explain it to her correctly.'],
  ],
  science: [
    ['I was reading an article about this and got curious.', 'A simple explanation is enough.'],
    ['My students asked me this in class and I was not sure.', 'I would like to give them an accurate answer.'],
  ],
  everyday: [
    ['This has been bothering me for a few days now.', 'I would rather not call a professional if I can avoid it.'],
    ['I just moved into my first apartment.', 'Any simple advice helps.'],
  ],
};

bases.forEach(([domain, q], i) => {
  const g = `base-${hash(q).toString(16)}`;
  push('filler', domain, q, FILLERS[i % FILLERS.length]!(q), 'template', g);
  const t = typo(q, q);
  if (t !== q) push('typo', domain, q, t, 'template', g);
  const [before, after] = CONTEXT[domain]![i % 2]!;
  push('verbose', domain, q, `${before} ${q} ${after}`, 'template', g);
});

// ---- clause reordering: a leading context clause moved to the end, and "A or B" swapped.
const reorder: [string, string, [string, string][]][] = [
  ['coding', 'In {X}, how do I {T}?|How do I {T} in {X}?', [
    ['Python', 'sort a list of tuples by the second element'], ['JavaScript', 'deep copy an object'], ['Java', 'read a text file into a string'],
    ['Rust', 'convert a string to an integer'], ['C#', 'format a date as ISO 8601'], ['Ruby', 'iterate over a hash'],
  ]],
  ['ops', 'On {X}, how can I {T}?|How can I {T} on {X}?', [
    ['Ubuntu', 'list all installed packages'], ['Windows', 'find which program uses a port'], ['macOS', 'flush the DNS cache'],
    ['a Raspberry Pi', 'set a static IP address'], ['Kubernetes', 'restart a deployment'],
  ]],
  ['travel', 'In {X}, what is {T}?|What is {T} in {X}?', [
    ['Tokyo', 'the best neighbourhood to stay for nightlife'], ['Paris', 'the easiest way to get around without a car'],
    ['Morocco', 'the etiquette for tipping at restaurants'], ['New Zealand', 'the best season for hiking'],
  ]],
  ['data', 'With pandas, how do I {T}?|How do I {T} with pandas?', [
    ['', 'fill missing values with the column mean'], ['', 'rename several columns at once'], ['', 'group by month and sum sales'],
  ]],
  ['money', 'As a {X}, how should I {T}?|How should I {T} as a {X}?', [
    ['college student', 'start investing with little money'], ['small business owner', 'pay myself a salary'], ['retiree', 'withdraw from my savings'],
  ]],
  ['language', 'Which is {X}, {T}?|Which is {X}, {U}?', [
    ['more widely spoken', 'Spanish or French'], ['older', 'Latin or Greek'], ['easier for English speakers', 'Dutch or German'],
  ]],
  ['science', 'Which is {X}, {T}?|Which is {X}, {U}?', [
    ['denser', 'gold or lead'], ['hotter', 'Venus or Mercury'], ['larger', 'a virus or a bacterium'],
  ]],
  ['everyday', 'For {X}, what is the best way to {T}?|What is the best way to {T} for {X}?', [
    ['a small apartment', 'dry laundry in winter'], ['a picky eater', 'cook vegetables'], ['a long drive', 'keep kids entertained'],
  ]],
];
reorder.forEach(([domain, tpl, fills], k) => {
  const [ta, tb] = tpl.split('|') as [string, string];
  for (const [x, t] of fills) {
    const u = t.includes(' or ') ? t.split(' or ').reverse().join(' or ') : t;
    const fill = (s: string) => s.replace('{X}', x).replace('{T}', t).replace('{U}', u);
    push('reorder', domain, fill(ta), fill(tb), 'template', `reorder-${k}`);
  }
});

// ---- role swaps: the same multiword terms with their roles exchanged, often far from the
// relation word.
const swaps: [string, string, [string, string][]][] = [
  ['ops', 'How do I copy a folder over SSH from {A} to {B}?', [
    ['my local development machine', 'the remote staging server'], ['the old web server', 'the new backup host'], ['a Docker container', 'the host filesystem'],
  ]],
  ['coding', 'How do I merge {A} into {B} without a fast-forward?', [
    ['the long-lived feature branch', 'the main branch'], ['the release branch', 'the develop branch'], ['my experimental refactoring branch', 'the team integration branch'],
  ]],
  ['ops', 'How do I map {A} to {B} in Docker Compose?', [
    ['host port 5433', 'container port 5432'], ['a named volume on the host', 'the app data folder in the container'],
  ]],
  ['travel', 'What is the fastest way to get from {A} to {B} by train?', [
    ['Munich central station', 'Zurich main station'], ['London St Pancras', 'Paris Gare du Nord'], ['Kyoto Station', 'Tokyo Station'], ['downtown Seattle', 'the Vancouver waterfront'],
  ]],
  ['money', 'How many {A} do I get for one hundred {B}?', [
    ['Canadian dollars', 'British pounds'], ['Swiss francs', 'Japanese yen'], ['Australian dollars', 'euros'],
  ]],
  ['language', 'Which words in {A} were borrowed from {B}?', [
    ['modern English', 'Old Norse'], ['Japanese', 'Portuguese'], ['Spanish', 'classical Arabic'],
  ]],
  ['ops', 'How do I redirect {A} to {B} in a bash script?', [
    ['standard error', 'standard output'], ['the output of the cleanup job', 'the system journal'],
  ]],
  ['data', 'Write a SQL statement that moves old rows from {A} to {B}.', [
    ['the orders table', 'the orders archive table'], ['the staging events table', 'the production events table'],
  ]],
  ['coding', 'What is the easiest way to convert {A} to {B} in Python?', [
    ['a list of dictionaries', 'a pandas DataFrame'], ['a Unix timestamp', 'a timezone-aware datetime'], ['a nested JSON document', 'a flat CSV file'],
  ]],
  ['science', 'Is {A} heavier than {B}?', [['an adult African elephant', 'a fully grown blue whale calf'], ['a liter of olive oil', 'a liter of sea water']]],
  ['science', 'Was {A} influenced by {B}?', [['the music of Johannes Brahms', 'the symphonies of Beethoven'], ["Darwin's theory of evolution", "Malthus's essay on population"]]],
  ['everyday', 'Can I substitute {A} for {B} when baking brownies?', [['melted coconut oil', 'unsalted butter'], ['plain Greek yogurt', 'sour cream']]],
  ['money', 'Should I move my savings from {A} to {B}?', [['a high-yield savings account', 'a certificate of deposit'], ['my checking account', 'a money market fund']]],
  ['everyday', "Is {A}'s birthday party before {B}'s graduation?", [['my sister', 'my cousin']]],
  ['data', 'Use {A} as the primary key, not {B}, for the users table', [['the email address', 'the numeric user id']]],
  ['ops', 'How do I sync files with rsync from {A} to {B}?', [['the shared network drive', 'my home directory'], ['the primary database replica', 'the reporting server']]],
  ['travel', 'Are there direct flights from {A} to {B} on weekends?', [['Cape Town International', 'Nairobi airport'], ['Buenos Aires', 'Santiago de Chile'], ['Lisbon', 'the Azores']]],
  ['coding', 'How do I cast {A} to {B} in TypeScript?', [['an unknown value', 'a string array'], ['a parent class instance', 'a child class type']]],
  ['money', 'Is {A} riskier than {B}?', [['a total stock market index fund', 'a corporate bond fund'], ['renting out a spare room', 'investing in dividend stocks']]],
  ['language', 'How do I translate a business letter from {A} into {B}?', [['formal German', 'plain English'], ['Brazilian Portuguese', 'European Spanish']]],
  ['data', 'How do I export data from {A} into {B}?', [['a Google Sheets spreadsheet', 'a PostgreSQL table'], ['the MongoDB events collection', 'an Elasticsearch index']]],
  ['science', 'Do {A} prey on {B}?', [['adult snowy owls', 'arctic lemmings'], ['killer whales', 'great white sharks']]],
  ['everyday', 'Should I prioritize {A} over {B} when buying a used car?', [['low mileage on the odometer', 'a full service history']]],
  ['money', 'Is {A} regulated by {B}?', [['the European Central Bank', 'the German federal government']]],
];
swaps.forEach(([domain, tpl, fills], k) => {
  for (const [x, y] of fills) {
    const fill = (p: string, q: string) => tpl.replace('{A}', p).replace('{B}', q);
    push('role-swap', domain, fill(x, y), fill(y, x), 'template', `swap-${k}`);
  }
});

// ---- should-miss substitutions: one slot changed, same frame.
const subs: [string, string, string, [string, string][]][] = [
  ['number', 'coding', 'How do I round a number to {X} decimal places in JavaScript?', [['2', '3'], ['one', 'four']]],
  ['number', 'ops', 'How do I show the last {X} lines of a log file?', [['10', '50'], ['100', '1000']]],
  ['number', 'travel', 'Is a {X}-hour layover in Amsterdam long enough to see the city?', [['4', '8'], ['6', '12']]],
  ['number', 'money', 'How much is {X} US dollars in euros?', [['250', '2500'], ['40', '400']]],
  ['number', 'science', 'What is {X} degrees Celsius in Fahrenheit?', [['35', '53'], ['100', '10']]],
  ['number', 'everyday', 'How long should I cook a {X} pound pork shoulder?', [['4', '8']]],
  ['number', 'data', 'How do I sample {X} percent of rows in BigQuery?', [['1', '10']]],
  ['negation', 'travel', 'Which countries {X} a visa for US citizens?', [['require', 'do not require']]],
  ['negation', 'coding', 'Which JavaScript array methods {X} the original array?', [['mutate', "don't mutate"]]],
  ['negation', 'everyday', 'Which houseplants {X} direct sunlight?', [['need', 'do not need']]],
  ['negation', 'money', 'What happens to my credit score if I {X} close old credit cards?', [['', 'never']]],
  ['negation', 'ops', 'How do I run a cron job {X} root privileges?', [['with', 'without']]],
  ['negation', 'science', 'Which animals {X} lay eggs?', [['can', 'cannot']]],
  ['negation', 'data', 'Count the customers who {X} placed an order this year', [['have', 'have not']]],
  ['negation', 'language', 'Which Spanish nouns ending in -a are {X} feminine?', [['', 'not']]],
  ['entity', 'coding', 'How do I sort a dictionary by value in {X}?', [['Python', 'Kotlin'], ['Go', 'Java']]],
  ['entity', 'travel', 'What is the best time of year to visit {X}?', [['Portugal', 'Peru'], ['Vietnam', 'Cambodia']]],
  ['entity', 'money', 'What is the current sales tax in {X}?', [['Texas', 'Oregon']]],
  ['entity', 'science', 'What is the melting point of {X}?', [['copper', 'aluminium'], ['tungsten', 'titanium']]],
  ['entity', 'language', 'How do you say happy birthday in {X}?', [['Polish', 'Czech'], ['Hindi', 'Urdu']]],
  ['entity', 'ops', 'How do I upgrade {X} to the latest version?', [['PostgreSQL', 'MySQL'], ['Terraform', 'Ansible']]],
  ['entity', 'data', 'How do I connect to {X} from a Jupyter notebook?', [['Snowflake', 'Redshift']]],
  ['entity', 'everyday', 'How often should I feed a pet {X}?', [['rabbit', 'hamster'], ['goldfish', 'turtle']]],
  ['scope', 'coding', 'How do I replace {X} of a substring in a Python string?', [['the first occurrence', 'every occurrence']]],
  ['scope', 'data', 'How do I compute the average of {X} in pandas?', [['one column', 'every row']]],
  ['scope', 'ops', 'How do I delete {X} in a directory on Linux?', [['all empty files', 'only the empty subdirectories']]],
  ['scope', 'travel', 'What are the entry requirements for {X}?', [['mainland China', 'Hong Kong only']]],
  ['scope', 'money', 'How do I calculate the return of {X} over a year?', [['a single stock', 'my whole portfolio']]],
  ['scope', 'everyday', 'How do I clean {X} of my car?', [['the leather seats', 'the entire interior']]],
  ['scope', 'science', 'What is the population of {X}?', [['the city of Berlin', 'the Berlin metropolitan region']]],
  ['format', 'coding', 'Explain how HTTP caching works {X}.', [['in one paragraph', 'as a numbered list of rules']]],
  ['format', 'data', 'Show the quarterly revenue numbers {X}.', [['as a Markdown table', 'as a bar chart in ASCII']]],
  ['format', 'travel', 'Give me a three day itinerary for Prague {X}.', [['as a bulleted list', 'written as a travel blog post']]],
  ['format', 'language', 'Translate this greeting into French {X}.', [['formally', 'in casual slang']]],
  ['format', 'money', 'Explain how a mortgage works {X}.', [['in under fifty words', 'in a detailed essay']]],
  ['format', 'ops', 'Describe the deployment steps {X}.', [['as a shell script', 'as a checklist for a human']]],
  ['format', 'science', 'Describe the water cycle {X}.', [['as a poem', 'as a scientific abstract']]],
  ['format', 'everyday', 'Write a weekly chore schedule {X}.', [['as a CSV file', 'as a friendly note to my roommates']]],
];
subs.forEach(([kind, domain, tpl, fills], k) => {
  for (const [x, y] of fills) {
    const fill = (v: string) => tpl.replace('{X}', v).replace(/\s+/g, ' ').replace(' ?', '?');
    push(kind, domain, fill(x), fill(y), 'template', `${kind}-${k}`);
  }
});

// ---- split by group, stratified by kind: each kind's groups in hash order, alternately to dev
// and test (a base question's filler/typo/verbose pairs share its group, and so its split).
const groupKind = new Map<string, string>();
for (const r of rows) if (!groupKind.has(r.group)) groupKind.set(r.group, r.kind);
const testGroups = new Set<string>();
for (const kind of new Set(groupKind.values())) {
  const groups = [...groupKind].filter(([, k]) => k === kind).map(([g]) => g);
  groups.sort((x, y) => hash(`split:${x}`) - hash(`split:${y}`) || (x < y ? -1 : 1));
  groups.forEach((g, i) => i % 2 === 1 && testGroups.add(g));
}
const dev: Row[] = [];
const test: Row[] = [];
for (const r of rows) (testGroups.has(r.group) ? test : dev).push(r);
const write = (name: string, list: Row[]) =>
  fs.writeFileSync(path.join(HERE, name), list.map((r) => JSON.stringify(r)).join('\n') + '\n');
write('adversarial-dev.jsonl', dev);
write('adversarial-test.jsonl', test);
const count = (list: Row[]) => {
  const m: Record<string, number> = {};
  for (const r of list) m[r.kind] = (m[r.kind] ?? 0) + 1;
  return m;
};
console.log(`total ${rows.length} (hand ${rows.filter((r) => r.source === 'hand').length}); dev ${dev.length}, test ${test.length}`);
console.log('dev ', JSON.stringify(count(dev)));
console.log('test', JSON.stringify(count(test)));
