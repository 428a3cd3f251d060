import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { align, read } from '../src/cache/verify/alignment.js';
import { compareRoles } from '../src/cache/verify/roles.js';
import { FEATURE_NAMES, pairFeatures, questionSentences, specificity } from '../src/cache/verify/features.js';
import { loadVerifierWeights } from '../src/cache/verify/scorer.js';
import { createVerifier, type Verifier } from '../src/cache/verify/verifier.js';
import { loadWordSimilarity } from '../src/cache/word-similarity.js';
import { createTransformersEmbedder } from '../src/embedding/transformers-embedder.js';
import type { Embedder } from '../src/embedding/embedder.js';

const modelsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'models');
const MODEL = 'static-wordnet-en';

// Examples written for these tests (not taken from data/eval or from the training generator).
const roles = (a: string, b: string) => compareRoles(align(read(a), read(b)));

describe('verifier: role alignment', () => {
  it('finds multiword terms exchanged around a relation word, far from the verb', () => {
    expect(roles('How do I copy the configuration files from the old laptop to the new desktop computer?', 'How do I copy the configuration files from the new desktop computer to the old laptop?').reversed).to.be.above(0);
    expect(roles('Should I move my emergency fund from the brokerage account into the credit union account?', 'Should I move my emergency fund from the credit union account into the brokerage account?').reversed).to.be.above(0);
  });

  it('finds comparatives, passives and "A, not B" exchanged', () => {
    expect(roles('Is a cup of green tea stronger than a shot of espresso?', 'Is a shot of espresso stronger than a cup of green tea?').reversed).to.be.above(0);
    expect(roles('Was the violin concerto written for the famous soloist by the young composer?', 'Was the violin concerto written for the young composer by the famous soloist?').reversed).to.be.above(0);
    expect(roles('Paint the fence green, not the garage door', 'Paint the garage door green, not the fence').reversed).to.be.above(0);
  });

  it('sees a possessor move to another term', () => {
    const r = roles("Does my neighbour's policy cover my broken window?", "Does my policy cover my neighbour's broken window?");
    expect(r.moved).to.be.above(0);
  });

  it('keeps clause moves, symmetric "or"/"vs" and inverse wording apart from swaps', () => {
    expect(roles('In Kotlin, how do I split a string by commas?', 'How do I split a string by commas in Kotlin?').reversed).to.equal(0);
    expect(roles('Which is cheaper to run, a heat pump or a gas furnace?', 'Which is cheaper to run, a gas furnace or a heat pump?').reversed).to.equal(0);
    expect(roles('Svelte vs Vue for a small dashboard', 'Vue vs Svelte for a small dashboard').reversed).to.equal(0);
    expect(roles('During a power cut, how do I keep the freezer cold?', 'How do I keep the freezer cold during a power cut?').reversed).to.equal(0);
    expect(roles('Was the bridge designed by the city engineer?', 'Did the city engineer design the bridge?').reversed).to.equal(0);
  });
});

describe('verifier: decisions with the real embedder and the committed weights', function () {
  this.timeout(120_000);
  let embedder: Embedder;
  let verifier: Verifier;
  let threshold: number;

  before(async () => {
    embedder = await createTransformersEmbedder({ model: MODEL, modelsDir, allowRemote: false });
    const weights = loadVerifierWeights(modelsDir, MODEL);
    expect(weights, 'models/static-wordnet-en/verifier.json').to.not.equal(undefined);
    threshold = weights!.threshold!;
    verifier = createVerifier(weights!, { wordSimilarity: loadWordSimilarity(modelsDir, MODEL) });
  });
  after(async () => embedder?.close?.());

  const scoreOf = async (a: string, b: string) => {
    const [va, vb] = await embedder.embed([a, b]);
    let dot = 0;
    for (let i = 0; i < va!.length; i++) dot += va![i]! * vb![i]!;
    return verifier.score(dot, a, b);
  };
  const hits = async (a: string, b: string) => expect((await scoreOf(a, b)).score, `${a} | ${b}`).to.be.at.least(threshold);
  const misses = async (a: string, b: string) => expect((await scoreOf(a, b)).score, `${a} | ${b}`).to.be.below(threshold);

  it('serves clause reordering and swapped alternatives', async () => {
    await hits('In Kotlin, how do I split a string by commas?', 'How do I split a string by commas in Kotlin?');
    await hits('Which is cheaper to run, a heat pump or a gas furnace?', 'Which is cheaper to run, a gas furnace or a heat pump?');
  });

  it('serves politeness, typos and context sentences around the same question', async () => {
    await hits('What is a closure in JavaScript?', 'Hi there! What is a closure in JavaScript? Thanks!');
    await hits('How do I compress a folder into a zip archive?', 'How do I compres a folder into a zip archvie?');
    await hits('How do I center a div horizontally?', "I'm building my first website for a school project. How do I center a div horizontally? I'd appreciate a short answer.");
  });

  it('refuses role swaps with multiword terms', async () => {
    await misses('How do I copy the configuration files from the old laptop to the new desktop computer?', 'How do I copy the configuration files from the new desktop computer to the old laptop?');
    await misses('Is a cup of green tea stronger than a shot of espresso?', 'Is a shot of espresso stronger than a cup of green tea?');
    await misses('Should I move my emergency fund from the brokerage account into the credit union account?', 'Should I move my emergency fund from the credit union account into the brokerage account?');
    const v = await scoreOf("Translate my grandmother's recipe from Hungarian into English", "Translate my grandmother's recipe from English into Hungarian");
    expect(v.score).to.be.below(threshold);
    expect(v.reason).to.match(/^roles-swapped/);
  });

  it('refuses changed negation, numbers, names, scope and output format', async () => {
    await misses('Which fruits are safe for parrots?', 'Which fruits are not safe for parrots?');
    await misses('How do I generate a list of 5 random numbers in Python?', 'How do I generate a list of 50 random numbers in Python?');
    await misses('How do I read environment variables in Elixir?', 'How do I read environment variables in Haskell?');
    await misses('How do I remove all stopped containers?', 'How do I remove one stopped container?');
    await misses('Describe the French Revolution as a timeline.', 'Describe the French Revolution as a limerick.');
  });

  it('scores identical prompts 1 and rejects weights from another feature set', async () => {
    expect((await scoreOf('How tall is Mount Fuji?', 'How tall is Mount Fuji?')).score).to.equal(1);
    const { validateWeights } = await import('../src/cache/verify/scorer.js');
    expect(() => validateWeights({ features: ['cosine'], mean: [0], scale: [1], weights: [1], bias: 0 }, 'x.json')).to.throw(/retrain/);
  });
});

// The default model (static-glove-wordnet-en) with its committed verifier: each kind of near-miss
// the verifier's generated training covers, with prompts written for these tests.
describe('verifier: the default model on each kind (examples written for these tests)', function () {
  this.timeout(120_000);
  const DEFAULT = 'static-glove-wordnet-en';
  let embedder: Embedder;
  let verifier: Verifier;
  let threshold: number;

  before(async () => {
    embedder = await createTransformersEmbedder({ model: DEFAULT, modelsDir, allowRemote: false });
    const weights = loadVerifierWeights(modelsDir, DEFAULT);
    expect(weights, `models/${DEFAULT}/verifier.json`).to.not.equal(undefined);
    threshold = weights!.threshold!;
    verifier = createVerifier(weights!, { wordSimilarity: loadWordSimilarity(modelsDir, DEFAULT) });
  });
  after(async () => embedder?.close?.());

  const score = async (a: string, b: string) => {
    const [va, vb] = await embedder.embed([a, b]);
    let dot = 0;
    for (let i = 0; i < va!.length; i++) dot += va![i]! * vb![i]!;
    return verifier.score(dot, a, b).score;
  };
  const hits = async (a: string, b: string) => expect(await score(a, b), `${a} | ${b}`).to.be.at.least(threshold);
  const misses = async (a: string, b: string) => expect(await score(a, b), `${a} | ${b}`).to.be.below(threshold);

  it('serves reordering, filler, typos, context sentences and a light rewording', async () => {
    await hits('In Rust, how do I read a file line by line?', 'How do I read a file line by line in Rust?');
    await hits('What is a monad in Haskell?', 'Hello! Quick one: what is a monad in Haskell? Many thanks.');
    await hits('How do I rotate a PDF page permanently?', 'How do I rotate a PDF page permanantly?');
    await hits('How do I unzip a tar.gz archive on Linux?', 'I downloaded some source code from a mirror and it came as a tarball. How do I unzip a tar.gz archive on Linux?');
    await hits('How do I delete a branch in git?', 'How can I delete a git branch?');
  });

  it('refuses a sibling swapped in: another element, distro, animal, food, material', async () => {
    await misses('What is the boiling point of ethanol?', 'What is the boiling point of methanol?');
    await misses('How do I install Redis on Fedora?', 'How do I install Redis on Arch Linux?');
    await misses('Which vaccines does a puppy need?', 'Which vaccines does a kitten need?');
    await misses('How many calories are in an avocado?', 'How many calories are in a banana?');
    await misses('How do I repaint a wooden door?', 'How do I repaint a metal door?');
  });

  it('refuses a name one letter from another name', async () => {
    await misses('What is the capital of Austria?', 'What is the capital of Australia?');
  });

  it('refuses a changed action or object on the same terms', async () => {
    await misses('How do I encrypt a folder on macOS?', 'How do I compress a folder on macOS?');
    await misses('How do I sort a list of tuples in Python?', 'How do I sort a list of dictionaries in Python?');
  });

  it('refuses another question target: why / how, where / when', async () => {
    await misses('Why does my sourdough bread come out flat?', 'How does my sourdough bread come out flat?');
    await misses('Where should I store fresh ginger?', 'When should I store fresh ginger?');
  });

  it('refuses an unrelated prompt that shares nothing to disagree on', async () => {
    await misses('How do I make my tomato plants grow faster?', 'Write a limerick about a lighthouse keeper.');
  });

  it('refuses a different question behind a shared preamble or context sentence', async () => {
    await misses('While the movers were here: where did I put the spare keys?', 'After the movers left: how long do I have to file a damage claim?');
    await misses('Setup: Fedora 40 with GNOME. How do I take a screenshot of one window?', 'Setup: Fedora 40 with GNOME. How do I mount a network drive?');
    await misses('Our bakery opens next month. How do I price a loaf of sourdough?', 'Our bakery opens next month. Which insurance do we need?');
    await misses('I teach a class of nine-year-olds. How do I explain fractions?', 'I teach a class of nine-year-olds. What games work on a rainy day?');
  });

  it('refuses the same question frame or entity with a different ask', async () => {
    await misses('How do I reset my router password?', 'How do I descale an espresso machine?');
    await misses('What is the tallest building in Dubai?', 'What is the average rent in Dubai?');
  });

  it('serves the same question behind a changed, added or removed preamble', async () => {
    await hits('While the movers were here: where did I put the spare keys?', 'After the movers left: where did I put the spare keys?');
    await hits('Our bakery opens next month. How do I price a loaf of sourdough?', 'How do I price a loaf of sourdough?');
    await hits('How do I explain fractions to nine-year-olds?', 'Good afternoon! I teach primary school. How do I explain fractions to nine-year-olds?');
  });

  it('refuses changed numbers, negation and swapped roles', async () => {
    await misses('How do I train for a half marathon in 12 weeks?', 'How do I train for a half marathon in 8 weeks?');
    await misses('Is it safe to eat raw cookie dough?', 'Is it not safe to eat raw cookie dough?');
    await misses('How do I convert miles to kilometers?', 'How do I convert kilometers to miles?');
  });
});

describe('verifier: features for specific words, names and question targets', () => {
  const sim = loadWordSimilarity(modelsDir, 'static-glove-wordnet-en');
  const feature = (name: string, a: string, b: string) => {
    const values = pairFeatures(0.9, read(a), read(b), { wordSimilarity: sim, findings: () => ({}) as never }).values;
    return values[FEATURE_NAMES.indexOf(name as (typeof FEATURE_NAMES)[number])]!;
  };

  it('reads the question target and tells why from how, but not "what is the way" from how', () => {
    expect(feature('whMismatch', 'Why do cats purr?', 'How do cats purr?')).to.equal(1);
    expect(feature('whMismatch', 'Where is the fuse box in a flat?', 'When is the fuse box in a flat checked?')).to.equal(1);
    expect(feature('whMismatch', 'How do I descale a kettle?', "What's the best way to descale a kettle?")).to.equal(0);
    expect(feature('whMismatch', 'Why is my kettle so loud?', 'What makes my kettle so loud?')).to.equal(0);
  });

  it('weighs a specific word above a common one', () => {
    expect(specificity({ raw: 'kettle', cls: 'content' }, sim)).to.be.above(specificity({ raw: 'thing', cls: 'content' }, sim));
    expect(specificity({ raw: '42', cls: 'number' }, sim)).to.equal(1);
  });

  it('does not align two names by spelling, nor two real words one letter apart', () => {
    const al = align(read('How do I back up PostgreSQL on Windows?'), read('How do I back up MySQL on Windows?'), sim);
    const pg = read('How do I back up PostgreSQL on Windows?').tokens.findIndex((t) => t.raw === 'PostgreSQL');
    expect(al.tokenAtoB[pg]).to.equal(-1);
    const a = read('Flights from Austria to Spain');
    const at = a.tokens.findIndex((t) => t.raw === 'Austria');
    expect(align(a, read('Flights from Australia to Spain'), sim).tokenAtoB[at]).to.equal(-1);
    // A typo is still a typo.
    expect(align(a, read('Flights from Austira to Spain'), sim).tokenAtoB[at]).to.be.at.least(0);
  });

  it('reads the question after a preamble: its cover discounts a shared leading context', () => {
    expect(feature('questionCoverMin', 'Setup: Fedora 40. How do I take a screenshot?', 'Setup: Fedora 40. How do I mount a network drive?')).to.equal(0);
    expect(feature('questionUnmatchedMax', 'Setup: Fedora 40. How do I take a screenshot?', 'Setup: Fedora 40. How do I mount a network drive?')).to.be.above(1);
    // A match anywhere on the other side covers the question: the context moved into it.
    expect(feature('questionCoverMin', 'Setup: Fedora 40. How do I take a screenshot?', 'How do I take a screenshot on Fedora 40?')).to.equal(1);
    // Without a question mark the whole text is the question.
    expect(feature('questionCoverMin', 'Summarise this memo about parking', 'Summarise this memo about parking')).to.equal(1);
  });

  it('picks the last question-marked sentence with content as the question', () => {
    const q = (t: string) => [...questionSentences(read(t))].map((s) => read(t).tokens.filter((x, i) => read(t).sentenceOf[i] === s && x.cls === 'content').map((x) => x.norm).join(' '));
    expect(q('Can you help? How do I bleed a radiator? Thanks.')).to.deep.equal(['bleed radiator']);
    expect(q('Context: our van is old. Question: why does it stall?')).to.deep.equal(['stall']);
  });

  it('sees the same sibling distance in a swapped term as the model does', () => {
    expect(feature('siblingSlot', 'What is the atomic number of cobalt?', 'What is the atomic number of nickel?')).to.be.above(0.3);
    expect(feature('siblingSlot', 'What is the atomic number of cobalt?', 'What is the atomic number of cobalt?')).to.equal(0);
  });
});
