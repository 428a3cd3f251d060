/**
 * `make model MODEL=<hub id>` (e.g. Xenova/all-MiniLM-L6-v2): downloads a Hugging Face model's
 * files into models/<hub id>/ so the gateway can load it offline (EMBED_MODEL=<hub id>).
 * Needs the network; where huggingface.co is unreachable it fails fast and says what to do.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HUB = process.env.HF_ENDPOINT?.replace(/\/+$/, '') || 'https://huggingface.co';
const REQUIRED = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
/** First one found wins; the loader prefers onnx/model.onnx, else onnx/model_quantized.onnx. */
const ONNX_CANDIDATES = ['onnx/model_quantized.onnx', 'onnx/model.onnx'];
const OPTIONAL = ['special_tokens_map.json', 'vocab.txt'];
const CONNECT_TIMEOUT_MS = 10_000;

class NetworkUnreachable extends Error {}

async function fetchFile(model: string, file: string): Promise<Uint8Array | null> {
  const url = `${HUB}/${model}/resolve/main/${file}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS), redirect: 'follow' });
  } catch (err) {
    throw new NetworkUnreachable(`${url}: ${(err as Error).cause ? String((err as Error & { cause: unknown }).cause) : (err as Error).message}`);
  }
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function download(model: string, modelsDir: string): Promise<void> {
  if (!/^[\w.-]+\/[\w.-]+$/.test(model)) throw new Error(`"${model}" is not a hub id like Xenova/all-MiniLM-L6-v2`);
  const target = path.join(modelsDir, model);
  const tmp = `${target}.partial`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const save = (file: string, data: Uint8Array) => {
    fs.mkdirSync(path.dirname(path.join(tmp, file)), { recursive: true });
    fs.writeFileSync(path.join(tmp, file), data);
    console.log(`[download] ${file} (${(data.length / 1e6).toFixed(2)} MB)`);
  };
  try {
    for (const file of REQUIRED) {
      const data = await fetchFile(model, file);
      if (!data) throw new Error(`${model} has no ${file}: not a transformers.js-ready model (try a Xenova/* id)`);
      save(file, data);
    }
    for (const file of OPTIONAL) {
      const data = await fetchFile(model, file);
      if (data) save(file, data);
    }
    let onnx = false;
    for (const file of ONNX_CANDIDATES) {
      const data = await fetchFile(model, file);
      if (data) {
        save(file, data);
        onnx = true;
        break;
      }
    }
    if (!onnx) throw new Error(`${model} has no onnx/model.onnx or onnx/model_quantized.onnx`);
    fs.rmSync(target, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.renameSync(tmp, target);
    console.log(`[download] ${model} -> ${target}. Use it with EMBED_MODEL=${model}, then run make eval-embedder to calibrate its threshold.`);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

const modelsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const model = process.argv[2];
if (!model) {
  console.error('usage: make model MODEL=<hub id>   (e.g. MODEL=Xenova/all-MiniLM-L6-v2)');
  process.exit(2);
}
download(model, modelsDir).catch((err: unknown) => {
  if (err instanceof NetworkUnreachable) {
    console.error(
      `[download] cannot reach ${HUB} (${err.message}).\n` +
        `The network is not reachable from this machine, so hub models cannot be downloaded here.\n` +
        `What to do: on a machine with network access, download the model folder (config.json, tokenizer.json,\n` +
        `tokenizer_config.json, onnx/model.onnx or onnx/model_quantized.onnx) and copy it by hand to\n` +
        `  ${path.join(modelsDir, model)}/\n` +
        `then start the gateway with EMBED_MODEL=${model}. Without a hub model, the built-in offline default\n` +
        `(static-wordnet-en, rebuilt by plain \`make model\`) is used.`,
    );
  } else {
    console.error(`[download] ${(err as Error).message}`);
  }
  process.exit(1);
});
