import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { createTransformersEmbedder } from '../src/embedding/transformers-embedder.js';
import { createWordSimilarityFromTable, loadWordSimilarity } from '../src/cache/word-similarity.js';
import type { Embedder } from '../src/embedding/embedder.js';

const modelsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'models');
const GLOVE = 'static-glove-wordnet-en';
const WORDNET = 'static-wordnet-en';

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

describe('static-glove-wordnet-en (WordNet + retrofitted GloVe) through transformers.js', function () {
  this.timeout(60_000);
  let glove: Embedder;
  let wordnet: Embedder;
  const sim = async (e: Embedder, a: string, b: string) => {
    const [va, vb] = await e.embed([a, b]);
    return dot(va!, vb!);
  };

  before(async () => {
    glove = await createTransformersEmbedder({ model: GLOVE, modelsDir, allowRemote: false });
    wordnet = await createTransformersEmbedder({ model: WORDNET, modelsDir, allowRemote: false });
  });

  after(async () => {
    await glove?.close?.();
    await wordnet?.close?.();
  });

  it('is a static int8 Gather table in the Hugging Face layout, within the 32 MB budget', () => {
    const dir = path.join(modelsDir, GLOVE);
    let bytes = 0;
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', 'README.md']) {
      expect(fs.existsSync(path.join(dir, f)), f).to.equal(true);
      bytes += fs.statSync(path.join(dir, f)).size;
    }
    expect(bytes).to.be.at.most(32 * 1024 * 1024);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(config.semcache_static_embedding).to.equal(true);
    expect(glove.dimension).to.equal(config.hidden_size);
    expect(config.semcache_word_similarity_dims).to.be.lessThan(config.hidden_size);
  });

  it('brings rewordings with different words closer than the WordNet-only model does', async () => {
    const pairs: [string, string][] = [
      ['How do I get rid of old files on my computer?', 'What is the way to delete outdated files from my PC?'],
      ['Cheapest way to travel across Europe by rail', 'How can I tour Europe on trains for little money?'],
      ['Why is my car engine making a loud noise?', 'What causes a noisy motor in an automobile?'],
      ['Tips for a job interview at a bank', 'How should I prepare for an interview for a banking position?'],
    ];
    for (const [a, b] of pairs) {
      expect(await sim(glove, a, b), `${a} ~ ${b}`).to.be.greaterThan(await sim(wordnet, a, b));
    }
  });

  it('lets chat filler around a question barely move its vector', async () => {
    const plain = 'how do I sort a dictionary by value in python';
    const padded = 'Hi there! Quick question, I was wondering if anyone could help: how do I sort a dictionary by value in Python? Thanks in advance!';
    expect(await sim(glove, plain, padded)).to.be.greaterThan(0.95);
  });

  it('still puts a prompt above an unrelated one, and keeps misspellings close', async () => {
    const [q, typo, other] = await glove.embed(['How do I recieve payments online?', 'How do I receive payments online?', 'Best hiking trails in Colorado']);
    expect(dot(q!, typo!)).to.be.greaterThan(dot(q!, other!) + 0.3);
  });

  it('compares single words for the guard on its WordNet block, where co-hyponyms stay apart', () => {
    const words = loadWordSimilarity(modelsDir, GLOVE)!;
    expect(words).to.not.equal(undefined);
    expect(words('purchase', 'buy')!).to.be.greaterThan(0.45);
    for (const [a, b] of [['adults', 'babies'], ['monday', 'tuesday'], ['cat', 'dog']] as const) {
      expect(words(a, b)!, `${a} / ${b}`).to.be.lessThan(0.15);
    }
  });
});

describe('word similarity over a table with a leading block', () => {
  it('uses only the leading columns when told to', () => {
    // Two words orthogonal in the first two columns, identical in the last two.
    const table = new Int8Array([100, 0, 100, 100, 0, 100, 100, 100]);
    const scales = new Float32Array([1, 1]);
    const split = (w: string) => (w === 'a' ? [0] : w === 'b' ? [1] : undefined);
    const all = createWordSimilarityFromTable(split, table, scales, 4);
    const leading = createWordSimilarityFromTable(split, table, scales, 4, 2);
    expect(all('a', 'b')!).to.be.closeTo(2 / 3, 1e-6);
    expect(leading('a', 'b')!).to.be.closeTo(0, 1e-6);
  });
});
