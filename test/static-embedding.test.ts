import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { env, pipeline, type FeatureExtractionPipeline } from '@xenova/transformers';
import { createTransformersEmbedder } from '../src/embedding/transformers-embedder.js';
import { readStaticTable } from '../src/embedding/static-table.js';
import { DType, encodeModel, type NodeSpec } from '../models/build/onnx-writer.js';

const modelsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'models');
const MODEL = 'static-wordnet-en';

const TEXTS = [
  'How do I reverse a list in Python?',
  'how can I reverse a python list',
  'Convert 100 degrees Celsius to Fahrenheit, please!',
  "What's the capital of Australia? I don't know.",
  'ZZZQX unknownword-xyzzy 3.14159 @#$%',
  '   leading and trailing spaces   ',
  'Ünïcödé façade naïve café 日本語 テキスト',
  'a',
  '',
  '?!',
  'the the the the the',
  'Write a haiku about autumn leaves falling on a quiet pond at dusk.',
];

/** The transformers.js pipeline's own answer: mean pooling + normalization over the ONNX graph. */
async function pipelineVectors(dir: string, model: string, texts: string[]): Promise<Float32Array[]> {
  env.localModelPath = dir + path.sep;
  env.allowLocalModels = true;
  env.allowRemoteModels = false;
  const extractor = (await pipeline('feature-extraction', model, { quantized: false })) as FeatureExtractionPipeline;
  try {
    const out: Float32Array[] = [];
    // One text at a time: no padding in play, so the pipeline's vector is the reference as is.
    for (const t of texts) out.push((await extractor([t], { pooling: 'mean', normalize: true })).data as Float32Array);
    return out;
  } finally {
    await extractor.dispose();
  }
}

function expectClose(a: Float32Array[], b: Float32Array[]): void {
  expect(a.length).to.equal(b.length);
  for (let i = 0; i < a.length; i++) {
    // A text with no weighted token: the pipeline gives NaN, the embedder a fixed unit vector.
    if (!Number.isFinite(b[i]![0]!)) continue;
    for (let j = 0; j < a[i]!.length; j++) expect(Math.abs(a[i]![j]! - b[i]![j]!), `text ${i} dim ${j}`).to.be.below(1e-5);
  }
}

/** A model folder with the default model's tokenizer and a graph of our choosing. */
function modelWithGraph(nodes: NodeSpec[], table: Float32Array, dim: number): { dir: string; name: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'static-model-'));
  const name = 'test-static';
  const m = path.join(dir, name);
  fs.mkdirSync(path.join(m, 'onnx'), { recursive: true });
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(modelsDir, MODEL, f), path.join(m, f));
  const vocab = table.length / dim;
  const axes = new Uint8Array(8);
  new DataView(axes.buffer).setBigInt64(0, 2n, true);
  const onnx = encodeModel({
    producer: 'test',
    opset: 13,
    graphName: 'g',
    initializers: [
      { name: 'table', dataType: DType.FLOAT, dims: [vocab, dim], raw: new Uint8Array(table.buffer) },
      { name: 'unsqueeze_axes', dataType: DType.INT64, dims: [1], raw: axes },
    ],
    nodes,
    inputs: [
      { name: 'input_ids', dataType: DType.INT64, shape: ['batch', 'sequence'] },
      { name: 'attention_mask', dataType: DType.INT64, shape: ['batch', 'sequence'] },
    ],
    outputs: [{ name: 'last_hidden_state', dataType: DType.FLOAT, shape: ['batch', 'sequence', dim] }],
  });
  fs.writeFileSync(path.join(m, 'onnx', 'model.onnx'), onnx);
  return { dir, name };
}

function seededTable(vocab: number, dim: number): Float32Array {
  const t = new Float32Array(vocab * dim);
  let x = 12345;
  for (let i = 0; i < t.length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    t[i] = x / 2147483648 - 0.5;
  }
  return t;
}

const VOCAB = 40000;

describe('static embedding models: direct table lookup', () => {
  it('serves the default model by a direct lookup that reproduces the transformers.js pipeline', async () => {
    const embedder = await createTransformersEmbedder({ model: MODEL, modelsDir, allowRemote: false });
    expect(embedder.runtime).to.equal('static-table');
    const direct = await embedder.embed(TEXTS);
    expectClose(direct, await pipelineVectors(modelsDir, MODEL, TEXTS));
    for (const v of direct) expect(v.every(Number.isFinite)).to.equal(true);
  });

  it('truncates to the model length as the pipeline does', async () => {
    const embedder = await createTransformersEmbedder({ model: MODEL, modelsDir, allowRemote: false });
    // Words past the first 8192 tokens do not count.
    const head = Array.from({ length: 8300 }, () => 'river').join(' ');
    const [a, b] = await embedder.embed([`${head} mountain`, `${head} ocean`]);
    expect(Array.from(a!)).to.deep.equal(Array.from(b!));
  });

  it('reads a float table (no scale) the same way', async () => {
    const dim = 8;
    const { dir, name } = modelWithGraph(
      [
        { op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['tok'], ints: { axis: 0 } },
        { op: 'Unsqueeze', inputs: ['attention_mask', 'unsqueeze_axes'], outputs: ['mask_3d'] },
        { op: 'Cast', inputs: ['mask_3d'], outputs: ['mask_f'], ints: { to: DType.FLOAT } },
        { op: 'Mul', inputs: ['tok', 'mask_f'], outputs: ['last_hidden_state'] },
      ],
      seededTable(VOCAB, dim),
      dim,
    );
    try {
      const embedder = await createTransformersEmbedder({ model: name, modelsDir: dir, allowRemote: false });
      expect(embedder.runtime).to.equal('static-table');
      expect(embedder.dimension).to.equal(dim);
      expectClose(await embedder.embed(TEXTS), await pipelineVectors(dir, name, TEXTS));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the pipeline for a graph that does more than look up rows', async () => {
    const dim = 8;
    const { dir, name } = modelWithGraph(
      [
        { op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['tok'], ints: { axis: 0 } },
        { op: 'Relu', inputs: ['tok'], outputs: ['pos'] },
        { op: 'Unsqueeze', inputs: ['attention_mask', 'unsqueeze_axes'], outputs: ['mask_3d'] },
        { op: 'Cast', inputs: ['mask_3d'], outputs: ['mask_f'], ints: { to: DType.FLOAT } },
        { op: 'Mul', inputs: ['pos', 'mask_f'], outputs: ['last_hidden_state'] },
      ],
      seededTable(VOCAB, dim),
      dim,
    );
    try {
      expect(readStaticTable(path.join(dir, name, 'onnx', 'model.onnx'))).to.equal(undefined);
      const embedder = await createTransformersEmbedder({ model: name, modelsDir: dir, allowRemote: false });
      expect(embedder.runtime).to.equal('pipeline');
      expectClose(await embedder.embed(TEXTS), await pipelineVectors(dir, name, TEXTS));
      await embedder.close?.();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a file that is not an ONNX model', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'not-onnx-'));
    try {
      const f = path.join(dir, 'model.onnx');
      fs.writeFileSync(f, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x3a, 0x7f]));
      expect(readStaticTable(f)).to.equal(undefined);
      fs.writeFileSync(f, fs.readFileSync(path.join(modelsDir, MODEL, 'onnx', 'model.onnx')).subarray(0, 5000));
      expect(readStaticTable(f)).to.equal(undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
