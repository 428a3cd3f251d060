import fs from 'node:fs';
import path from 'node:path';
import { env, pipeline, type FeatureExtractionPipeline } from '@xenova/transformers';
import { EmbedderError, type Embedder, type ModelDefaults } from './embedder.js';
import { embedIds, readStaticTable, type StaticTable } from './static-table.js';

export interface TransformersEmbedderOptions {
  model: string;
  modelsDir: string;
  allowRemote: boolean;
}

/** Fallback when a model ships no gateway.json: conservative, favours precision. */
export const FALLBACK_THRESHOLD = 0.9;

/** Texts the direct path must reproduce from the pipeline before it is used (pooling, unknown words, empty). */
const VERIFY_TEXTS = ['dimension probe', 'How do I reverse a list in Python?', 'Zyxqv  unknown-ish t0kens, 42 and 3.14!', ''];

/**
 * Loads a Hugging Face-layout model (config.json, tokenizer.json, onnx/model*.onnx) with
 * transformers.js: mean pooling + L2 normalization, the sentence-transformers recipe. A local
 * static model (a Gather table, see static-table.ts) is then served by a direct lookup with the
 * same tokenizer, once it has reproduced the pipeline's vectors on probe texts; hub and other
 * models keep the pipeline.
 */
export async function createTransformersEmbedder(opts: TransformersEmbedderOptions): Promise<Embedder> {
  const localDir = path.join(opts.modelsDir, opts.model);
  const hasLocal = fs.existsSync(path.join(localDir, 'config.json'));
  if (!hasLocal && !opts.allowRemote) {
    throw new EmbedderError(
      `embedding model "${opts.model}" not found in ${opts.modelsDir}: run \`make model\` to build the default model, ` +
        `or \`make model MODEL=<hub id>\` where the network allows, or set EMBED_MODEL to a folder under MODELS_DIR`,
    );
  }
  // transformers.js keeps these as process-wide settings; set them right before loading.
  env.localModelPath = opts.modelsDir + path.sep;
  env.allowLocalModels = true;
  env.allowRemoteModels = opts.allowRemote;
  const quantized = hasLocal
    ? !fs.existsSync(path.join(localDir, 'onnx', 'model.onnx')) && fs.existsSync(path.join(localDir, 'onnx', 'model_quantized.onnx'))
    : true;
  let extractor: FeatureExtractionPipeline;
  try {
    extractor = (await pipeline('feature-extraction', opts.model, { quantized })) as FeatureExtractionPipeline;
  } catch (err) {
    throw new EmbedderError(`could not load embedding model "${opts.model}" from ${localDir}: ${(err as Error).message}`);
  }
  const pipelineEmbed = async (texts: string[]): Promise<Float32Array[]> => {
    if (texts.length === 0) return [];
    const out = await extractor(texts, { pooling: 'mean', normalize: true });
    const [rows, dim] = out.dims as [number, number];
    const data = out.data as Float32Array;
    const vectors: Float32Array[] = [];
    for (let r = 0; r < rows; r++) {
      const v = data.slice(r * dim, (r + 1) * dim);
      // A text with no weighted token (empty, or only padding) pools to zero, which normalizes to
      // NaN: give it a fixed unit vector so the index never sees NaN.
      if (!Number.isFinite(v[0]!)) {
        v.fill(0);
        v[0] = 1;
      }
      vectors.push(v);
    }
    return vectors;
  };
  const onnxFile = path.join(localDir, 'onnx', quantized ? 'model_quantized.onnx' : 'model.onnx');
  const table = hasLocal ? readStaticTable(onnxFile) : undefined;
  if (table) {
    const direct = directEmbed(extractor, table);
    if (await sameVectors(direct, pipelineEmbed)) {
      // The onnxruntime session is no longer needed; the tokenizer is plain JS and stays.
      await extractor.dispose();
      return { name: opts.model, dimension: table.dimension, runtime: 'static-table', embed: async (texts) => direct(texts) };
    }
  }
  const [probe] = await pipelineEmbed(['dimension probe']);
  return {
    name: opts.model,
    dimension: probe!.length,
    runtime: 'pipeline',
    embed: pipelineEmbed,
    close: async () => {
      await extractor.dispose();
    },
  };
}

/** Tokenize (with special tokens, truncated to the model's length, as the pipeline does), then look up and pool. */
function directEmbed(extractor: FeatureExtractionPipeline, table: StaticTable): (texts: string[]) => Float32Array[] {
  const tokenizer = extractor.tokenizer as unknown as { encode(text: string): number[]; model_max_length?: number };
  const maxLength = tokenizer.model_max_length ?? Infinity;
  return (texts) =>
    texts.map((text) => {
      const ids = tokenizer.encode(text);
      return embedIds(table, ids.length > maxLength ? ids.slice(0, maxLength) : ids);
    });
}

async function sameVectors(direct: (texts: string[]) => Float32Array[], pipelineEmbed: (texts: string[]) => Promise<Float32Array[]>): Promise<boolean> {
  const a = direct(VERIFY_TEXTS);
  const b = await pipelineEmbed(VERIFY_TEXTS);
  return a.every((v, i) => v.length === b[i]!.length && v.every((x, j) => Math.abs(x - b[i]![j]!) < 1e-4));
}

/** Reads `models/<name>/gateway.json`; falls back to FALLBACK_THRESHOLD when absent. */
export function readModelDefaults(modelsDir: string, model: string): ModelDefaults {
  const file = path.join(modelsDir, model, 'gateway.json');
  if (!fs.existsSync(file)) return { similarityThreshold: FALLBACK_THRESHOLD };
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ModelDefaults>;
  const t = parsed.similarityThreshold;
  if (typeof t !== 'number' || !(t > 0 && t <= 1)) {
    throw new EmbedderError(`${file}: similarityThreshold must be a number in (0, 1]`);
  }
  return { ...parsed, similarityThreshold: t };
}
