import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { align, read } from '../src/cache/verify/alignment.js';
import { compareRoles } from '../src/cache/verify/roles.js';
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
