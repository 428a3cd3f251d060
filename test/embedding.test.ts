import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { createTransformersEmbedder, readModelDefaults } from '../src/embedding/transformers-embedder.js';
import { EmbedderError, type Embedder } from '../src/embedding/embedder.js';

const modelsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'models');
const MODEL = 'static-wordnet-en';
/** Documented in models/static-wordnet-en/README.md. */
const DIMENSION = JSON.parse(fs.readFileSync(path.join(modelsDir, MODEL, 'config.json'), 'utf8')).hidden_size as number;

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

describe('default embedding model (static-wordnet-en) through transformers.js', () => {
  let embedder: Embedder;

  before(async () => {
    embedder = await createTransformersEmbedder({ model: MODEL, modelsDir, allowRemote: false });
  });

  after(async () => {
    await embedder?.close?.();
  });

  it('loads from models/ with remote loading off, in the Hugging Face layout', () => {
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) {
      expect(fs.existsSync(path.join(modelsDir, MODEL, f)), f).to.equal(true);
    }
    expect(embedder.name).to.equal(MODEL);
    expect(embedder.dimension).to.equal(DIMENSION);
    expect(DIMENSION).to.equal(256);
  });

  it('is deterministic and L2-normalized, one vector per text, batched or not', async () => {
    const texts = ['How do I bake sourdough bread?', 'What is the tallest mountain in Europe?', 'ok'];
    const a = await embedder.embed(texts);
    const b = await embedder.embed(texts);
    expect(a).to.have.length(3);
    for (let i = 0; i < texts.length; i++) {
      expect(a[i]).to.have.length(DIMENSION);
      expect(Array.from(a[i]!)).to.deep.equal(Array.from(b[i]!));
      expect(Math.abs(dot(a[i]!, a[i]!) - 1)).to.be.lessThan(1e-4);
    }
    const [single] = await embedder.embed([texts[1]!]);
    expect(dot(single!, a[1]!)).to.be.greaterThan(0.9999);
    expect(await embedder.embed([])).to.deep.equal([]);
  });

  it('gives empty or symbol-only texts a finite unit vector', async () => {
    for (const v of await embedder.embed(['', '?!'])) {
      expect(v.every(Number.isFinite)).to.equal(true);
      expect(Math.abs(dot(v, v) - 1)).to.be.lessThan(1e-4);
    }
  });

  it('scores paraphrases above unrelated prompts', async () => {
    const cases: [string, string, string][] = [
      ['How can I lose weight fast?', 'What is the quickest way to lose weight?', 'How do I install Python on Windows?'],
      ['What is the capital of France?', 'Which city is the capital of France?', 'How do I bake bread at home?'],
      ['Write a poem about the ocean', 'Compose a poem about the sea', 'Explain quantum computing in simple terms'],
      ['How do I learn to play the guitar?', 'What is the best way to learn guitar?', 'What causes earthquakes?'],
      ['Recommend a good book about history', 'Can you suggest a history book?', 'How do I reset my router password?'],
      ['What are the symptoms of the flu?', 'What are the signs of influenza?', 'How many planets are in the solar system?'],
      ['How do I recieve payments online?', 'How do I receive payments online?', 'Best hiking trails in Colorado'],
    ];
    for (const [q, para, other] of cases) {
      const [vq, vp, vo] = await embedder.embed([q, para, other]);
      expect(dot(vq!, vp!), `${q} ~ ${para}`).to.be.greaterThan(dot(vq!, vo!) + 0.2);
    }
  });

  it('ships a calibrated threshold next to the model', () => {
    const d = readModelDefaults(modelsDir, MODEL);
    expect(d.similarityThreshold).to.be.greaterThan(0).and.at.most(1);
    expect(d.targetPrecision).to.equal(0.97);
  });

  it('names `make model` when the model directory is missing', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'models-'));
    try {
      await createTransformersEmbedder({ model: MODEL, modelsDir: empty, allowRemote: false });
      expect.fail('should have thrown');
    } catch (err) {
      expect(err).to.be.instanceOf(EmbedderError);
      expect((err as Error).message).to.include('make model').and.include(MODEL);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
