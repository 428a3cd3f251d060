/**
 * Word-level similarity for the correctness guard's substitution check, read straight from a
 * static (Model2Vec-style) embedding model: the vector of a single word is what the embedder
 * would pool for it (the mean of its WordPiece rows, L2-normalized), computed synchronously from
 * the model's own int8 table so the guard stays synchronous and deterministic.
 *
 * Only models built as a static token table (config.json `semcache_static_embedding`, e.g. the
 * default static-wordnet-en) have such a table; for any other model `loadWordSimilarity` returns
 * undefined and the guard runs without word similarity.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadParaphraseLexicon, type ParaphraseLexicon } from './paraphrases.js';

/**
 * Cosine of two single words' vectors, or undefined when either word has no vector. `weight`,
 * when the model has one, is the word's pooling weight (its row length in the table, before
 * normalization): frequency-based (SIF), so rare, specific words weigh more than common ones.
 */
export type WordSimilarity = ((a: string, b: string) => number | undefined) & {
  weight?: (word: string) => number | undefined;
  /**
   * Cosine on the model's other columns when word comparison uses only the leading ones
   * (static-glove-wordnet-en: the GloVe block). Distributional: high for words used alike,
   * co-hyponyms included ("sodium" / "potassium", "Iceland" / "Ireland"), which is what tells a
   * sibling swapped in from an unrelated word.
   */
  related?: (a: string, b: string) => number | undefined;
  /** The word is one token of the model's vocabulary (a real word, not a typo split into pieces). */
  known?: (word: string) => boolean;
  /** The model's paraphrase lexicon (models/<model>/paraphrases.json), when it has one. */
  lexicon?: ParaphraseLexicon;
};

interface Tensor {
  name: string;
  dims: number[];
  raw: Uint8Array;
}

/** Reads a varint at `pos`; returns [value, next position]. Values here fit in a double. */
function varint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let mul = 1;
  for (;;) {
    const b = buf[pos++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) return [result, pos];
    mul *= 128;
  }
}

/** Calls `onField(field, wire, start, end)` for each field of a protobuf message (length-delimited payloads only get start/end). */
function forEachField(buf: Uint8Array, start: number, end: number, onField: (field: number, wire: number, s: number, e: number, value: number) => void): void {
  let pos = start;
  while (pos < end) {
    const [tag, p1] = varint(buf, pos);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    pos = p1;
    if (wire === 0) {
      const [v, p2] = varint(buf, pos);
      onField(field, wire, pos, p2, v);
      pos = p2;
    } else if (wire === 2) {
      const [len, p2] = varint(buf, pos);
      onField(field, wire, p2, p2 + len, len);
      pos = p2 + len;
    } else if (wire === 5) {
      onField(field, wire, pos, pos + 4, 0);
      pos += 4;
    } else if (wire === 1) {
      onField(field, wire, pos, pos + 8, 0);
      pos += 8;
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
  }
}

/** The initializers of an ONNX model (ModelProto.graph = 7, GraphProto.initializer = 5; TensorProto dims = 1, name = 8, raw_data = 9). */
function onnxInitializers(buf: Uint8Array): Tensor[] {
  const out: Tensor[] = [];
  forEachField(buf, 0, buf.length, (field, wire, s, e) => {
    if (field !== 7 || wire !== 2) return;
    forEachField(buf, s, e, (gf, gw, gs, ge) => {
      if (gf !== 5 || gw !== 2) return;
      const t: Tensor = { name: '', dims: [], raw: new Uint8Array(0) };
      forEachField(buf, gs, ge, (tf, tw, ts, te, v) => {
        if (tf === 1 && tw === 0) t.dims.push(v);
        else if (tf === 1 && tw === 2) for (let p = ts; p < te; ) { const [d, np] = varint(buf, p); t.dims.push(d); p = np; }
        else if (tf === 8 && tw === 2) t.name = new TextDecoder().decode(buf.subarray(ts, te));
        else if (tf === 9 && tw === 2) t.raw = buf.subarray(ts, te);
      });
      out.push(t);
    });
  });
  return out;
}

/** Greedy longest-match-first WordPiece of one lowercase word; undefined when a piece is missing. */
function wordPiece(word: string, vocab: Map<string, number>, prefix: string): number[] | undefined {
  const ids: number[] = [];
  let start = 0;
  while (start < word.length) {
    let end = word.length;
    let id: number | undefined;
    while (end > start) {
      const piece = (start > 0 ? prefix : '') + word.slice(start, end);
      id = vocab.get(piece);
      if (id !== undefined) break;
      end--;
    }
    if (id === undefined) return undefined;
    ids.push(id);
    start = end;
  }
  return ids;
}

/**
 * Word similarity from the static model in `modelsDir/model`, or undefined when that model is not
 * a static token table (or its files cannot be read). Loading takes a few tens of ms (the table
 * stays int8); each new word costs one WordPiece split and a 256-float sum, cached afterwards.
 */
export function loadWordSimilarity(modelsDir: string, model: string): WordSimilarity | undefined {
  const dir = path.join(modelsDir, model);
  let sim: WordSimilarity;
  try {
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as {
      semcache_static_embedding?: boolean;
      semcache_word_similarity_dims?: number;
    };
    if (!config.semcache_static_embedding) return undefined;
    const tok = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as {
      model: { vocab: Record<string, number>; continuing_subword_prefix?: string };
    };
    const vocab = new Map(Object.entries(tok.model.vocab));
    const prefix = tok.model.continuing_subword_prefix ?? '##';
    const onnxFile = fs.existsSync(path.join(dir, 'onnx', 'model.onnx')) ? 'model.onnx' : 'model_quantized.onnx';
    const tensors = onnxInitializers(new Uint8Array(fs.readFileSync(path.join(dir, 'onnx', onnxFile))));
    const q = tensors.find((t) => t.name === 'embedding_q');
    const sc = tensors.find((t) => t.name === 'embedding_scale');
    if (!q || !sc || q.dims.length !== 2) return undefined;
    const [rows, dim] = q.dims as [number, number];
    const table = new Int8Array(q.raw.buffer, q.raw.byteOffset, rows * dim);
    const scales = new Float32Array(rows);
    const sv = new DataView(sc.raw.buffer, sc.raw.byteOffset, sc.raw.byteLength);
    for (let r = 0; r < rows; r++) scales[r] = sv.getFloat32(r * 4, true);
    // A model may say that only its leading columns are for word-level comparison:
    // static-glove-wordnet-en's GloVe block puts co-hyponyms ("adults" / "babies") close, which
    // the guard's substitution check must keep apart, so it compares words by the WordNet block.
    const leading = config.semcache_word_similarity_dims;
    const cols = Number.isInteger(leading) && leading! > 0 && leading! <= dim ? leading! : dim;
    sim = createWordSimilarityFromTable((w) => wordPiece(w, vocab, prefix), table, scales, dim, cols);
  } catch {
    return undefined;
  }
  // A lexicon that is there but unreadable is an error, not a silent fallback.
  const lexicon = loadParaphraseLexicon(dir);
  return lexicon ? Object.assign(sim, { lexicon }) : sim;
}

/** Word similarity over any int8 token table (exported for tests). */
export function createWordSimilarityFromTable(
  split: (word: string) => number[] | undefined,
  table: Int8Array,
  scales: Float32Array,
  dim: number,
  /** Compare words on columns [from, cols) only (default all). */
  cols = dim,
  from = 0,
): WordSimilarity {
  const related = cols < dim ? createWordSimilarityFromTable(split, table, scales, dim, dim, cols) : undefined;
  const cache = new Map<string, Float32Array | null>();
  const weights = new Map<string, number | null>();
  const weight = (word: string): number | undefined => {
    let w = weights.get(word);
    if (w === undefined) {
      const ids = split(word.toLowerCase());
      w = null;
      if (ids && ids.length) {
        // The mean row over the word's pieces (what the embedder pools for it), its length.
        const acc = new Float32Array(dim);
        for (const id of ids) {
          const s = scales[id]!;
          const off = id * dim;
          for (let i = 0; i < dim; i++) acc[i]! += (table[off + i]! * s) / ids.length;
        }
        let n = 0;
        for (let i = 0; i < dim; i++) n += acc[i]! * acc[i]!;
        w = Math.sqrt(n);
      }
      if (weights.size >= 50_000) weights.delete(weights.keys().next().value!);
      weights.set(word, w);
    }
    return w ?? undefined;
  };
  const vector = (word: string): Float32Array | null => {
    let v = cache.get(word);
    if (v !== undefined) return v;
    const ids = split(word.toLowerCase());
    v = null;
    if (ids && ids.length) {
      const acc = new Float32Array(cols - from);
      for (const id of ids) {
        const s = scales[id]!;
        const off = id * dim + from;
        for (let i = 0; i < acc.length; i++) acc[i]! += table[off + i]! * s;
      }
      let n = 0;
      for (let i = 0; i < acc.length; i++) n += acc[i]! * acc[i]!;
      if (n > 0) {
        n = 1 / Math.sqrt(n);
        for (let i = 0; i < acc.length; i++) acc[i]! *= n;
        v = acc;
      }
    }
    if (cache.size >= 50_000) cache.delete(cache.keys().next().value!);
    cache.set(word, v);
    return v;
  };
  const similarity = (a: string, b: string): number | undefined => {
    if (a === b) return 1;
    const va = vector(a);
    const vb = vector(b);
    if (!va || !vb) return undefined;
    let dot = 0;
    for (let i = 0; i < va.length; i++) dot += va[i]! * vb[i]!;
    return dot;
  };
  const knownWords = new Map<string, boolean>();
  const known = (word: string): boolean => {
    let k = knownWords.get(word);
    if (k === undefined) {
      k = split(word.toLowerCase())?.length === 1;
      if (knownWords.size >= 50_000) knownWords.delete(knownWords.keys().next().value!);
      knownWords.set(word, k);
    }
    return k;
  };
  return Object.assign(similarity, { weight, related, known });
}
