/**
 * Builds models/static-glove-wordnet-en/: the static table of static-wordnet-en (WordNet meaning,
 * lemma identity, hashed char-3-gram spelling) with a second block of pretrained distributional
 * vectors, GloVe 6B 100-d, retrofitted to WordNet. Run by `make model`
 * (npx tsx models/build/build-glove.ts); deterministic given the pinned npm package (glove.ts).
 *
 * Why both: GloVe knows which words occur in the same contexts (paraphrases WordNet does not list,
 * and the frequencies that tell filler from content), WordNet knows synonyms, antonyms and
 * spelling-level identity GloVe blurs (GloVe puts "cat" next to "dog" and "hot" next to "cold").
 *   - GloVe block: "all-but-the-top" post-processing (mean and the top principal directions
 *     removed, the common component that makes every average look alike), then retrofitting
 *     (Faruqui et al. 2015) over WordNet synonyms, so synonyms move together, and a
 *     counter-fitting step (Mrksic et al. 2016) that pushes WordNet antonyms apart.
 *   - WordNet block: exactly the vectors of build-default.ts over a vocabulary widened with
 *     GloVe's most frequent words.
 *   - Length (pooling weight): SIF a / (a + p(w)) with p(w) from GloVe's frequency rank (Zipf),
 *     so frequent words and chat filler weigh little in the mean.
 * The graph stays the same Gather table, so transformers.js loads it like any static model.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_OPTIONS, buildWordNetTable, writeStaticModel, type BuildOptions, type WordNetTable } from './build-default.js';
import { loadGloVe, type GloVe } from './glove.js';
import { normalize } from './random.js';
import { FILLER_WORDS } from './lexicon.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface GloveBuildOptions {
  outDir: string;
  cacheDir: string;
  wordnet: BuildOptions;
  /** GloVe entries read (by frequency rank). */
  gloveMaxRank: number;
  /** GloVe words up to this rank enter the vocabulary first. */
  gloveVocabRank: number;
  /** Principal directions removed from GloVe ("all-but-the-top"). */
  removeTop: number;
  retrofitIterations: number;
  /** Weight of the WordNet neighbours against the word's own GloVe vector (Faruqui's beta / alpha). */
  retrofitStrength: number;
  /** Step of the antonym repulsion per iteration. */
  antonymStep: number;
  /** Share of a word row's squared length in the GloVe block (the rest is the WordNet block). */
  gloveShare: number;
  /** SIF a / (a + p(w)), floored at minWeight. */
  sifA: number;
  minWeight: number;
  fillerWeight: number;
  log: (msg: string) => void;
}

export const GLOVE_OPTIONS: GloveBuildOptions = {
  outDir: path.resolve(here, '..', 'static-glove-wordnet-en'),
  cacheDir: path.resolve(here, '..', '.cache'),
  wordnet: { ...DEFAULT_OPTIONS, vocabSize: 64000, pieceCount: 4500, log: () => {} },
  gloveMaxRank: 200000,
  gloveVocabRank: 40000,
  removeTop: 4,
  retrofitIterations: 10,
  retrofitStrength: 2,
  antonymStep: 0.5,
  gloveShare: 0.3,
  sifA: 1e-3,
  minWeight: 0.05,
  fillerWeight: 0.06,
  log: (msg) => console.log(`[model] ${msg}`),
};

/** Zipf estimate of a word's probability from its frequency rank (0-based) in GloVe's 400k list. */
function zipfProbability(rank: number): number {
  const H = Math.log(400000) + 0.5772;
  return 1 / ((rank + 2.7) * H);
}

export async function buildGloveModel(opts: GloveBuildOptions = GLOVE_OPTIONS): Promise<{ vocabSize: number; bytes: number }> {
  const t0 = Date.now();
  const log = (m: string) => opts.log(`${((Date.now() - t0) / 1000).toFixed(1)}s ${m}`);
  const inputs = prepareInputs(opts, log);
  return writeGloveModel(inputs, opts, log);
}

export interface GloveInputs {
  glove: GloVe;
  wn: WordNetTable;
  /** Retrofitted unit GloVe vectors of the vocabulary's words. */
  gvec: Map<string, Float32Array>;
}

/** The slow part: GloVe, the WordNet table over the widened vocabulary, retrofitting. */
export function prepareInputs(opts: GloveBuildOptions, log: (msg: string) => void): GloveInputs {
  const glove = loadGloVe(opts.cacheDir, opts.gloveMaxRank, log);
  log(`GloVe: ${glove.words.length} words x ${glove.dim}`);
  const frequent = glove.words.filter((w, i) => glove.ranks[i]! < opts.gloveVocabRank && w.length >= 2);
  const wn = buildWordNetTable(
    opts.wordnet,
    {
      extraCandidates: frequent,
      // GloVe's frequent words first (most frequent first), then the WordNet ranking.
      rescore: (w, score) => {
        const r = gloveRank(glove, w);
        return r !== undefined && r < opts.gloveVocabRank ? 1000 - r / opts.gloveVocabRank : score;
      },
    },
    log,
  );
  log(`vocabulary: ${wn.vocab.length} tokens`);
  const base = postProcess(glove, opts.removeTop);
  const gvec = retrofit(wn, glove, base, opts, log);
  return { glove, wn, gvec };
}

function gloveRank(glove: GloVe, w: string): number | undefined {
  const i = glove.index.get(w);
  return i === undefined ? undefined : glove.ranks[i]!;
}

/** Concatenates the two blocks, sets each row's length, quantizes and writes the model folder. */
export function writeGloveModel({ glove, wn, gvec }: GloveInputs, opts: GloveBuildOptions, log: (msg: string) => void): { vocabSize: number; bytes: number } {
  const { vocab, dim: DW } = wn;
  const G = glove.dim;
  const D = DW + G;
  const table = new Float32Array(vocab.length * D);
  const wnShare = Math.sqrt(1 - opts.gloveShare);
  const gShare = Math.sqrt(opts.gloveShare);
  let withGlove = 0;
  vocab.forEach((tok, id) => {
    const row = table.subarray(id * D, (id + 1) * D);
    const unitW = wn.unit.subarray(id * DW, (id + 1) * DW);
    let w = wn.weight[id]!;
    const g = wn.kind[id] === 'word' ? gvec.get(tok) : undefined;
    if (wn.kind[id] === 'word') {
      const r = gloveRank(glove, tok);
      if (r !== undefined) w = Math.max(opts.minWeight, opts.sifA / (opts.sifA + zipfProbability(r)));
      if (FILLER_WORDS.has(tok)) w = opts.fillerWeight;
    }
    if (g) {
      withGlove++;
      for (let i = 0; i < DW; i++) row[i] = w * wnShare * unitW[i]!;
      for (let i = 0; i < G; i++) row[DW + i] = w * gShare * g[i]!;
    } else {
      for (let i = 0; i < DW; i++) row[i] = w * unitW[i]!;
    }
  });
  log(`table: ${vocab.length} x ${D} (${withGlove} words with a GloVe block)`);
  const bytes = writeStaticModel(opts.outDir, vocab, table, D, `static-glove-wordnet-en: ${vocab.length} tokens x ${D} dims (WordNet ${DW} + retrofitted GloVe ${G}), int8 rows with float scales`, {
    // The guard compares single words on the WordNet block only (src/cache/word-similarity.ts).
    semcache_word_similarity_dims: DW,
  });
  log(`wrote ${opts.outDir} (${(bytes / 1e6).toFixed(2)} MB)`);
  return { vocabSize: vocab.length, bytes };
}

/**
 * "All-but-the-top" (Mu and Viswanath 2018): subtract the mean vector and project out the top
 * principal directions, estimated on the 50k most frequent words; then unit length.
 */
function postProcess(glove: GloVe, removeTop: number): Float32Array {
  const G = glove.dim;
  const n = glove.words.length;
  const fit = Math.min(n, 50000);
  const out = Float32Array.from(glove.vectors);
  const mean = new Float64Array(G);
  for (let r = 0; r < fit; r++) for (let i = 0; i < G; i++) mean[i] += out[r * G + i]! / fit;
  for (let r = 0; r < n; r++) for (let i = 0; i < G; i++) out[r * G + i] -= mean[i]!;
  for (let k = 0; k < removeTop; k++) {
    // Power iteration on the covariance of the (already deflated) rows; a fixed start keeps it deterministic.
    let u = new Float64Array(G).fill(1 / Math.sqrt(G));
    for (let it = 0; it < 50; it++) {
      const next = new Float64Array(G);
      for (let r = 0; r < fit; r++) {
        let dot = 0;
        for (let i = 0; i < G; i++) dot += out[r * G + i]! * u[i]!;
        for (let i = 0; i < G; i++) next[i] += dot * out[r * G + i]!;
      }
      let norm = 0;
      for (let i = 0; i < G; i++) norm += next[i]! * next[i]!;
      norm = Math.sqrt(norm);
      for (let i = 0; i < G; i++) next[i] /= norm;
      u = next;
    }
    for (let r = 0; r < n; r++) {
      let dot = 0;
      for (let i = 0; i < G; i++) dot += out[r * G + i]! * u[i]!;
      for (let i = 0; i < G; i++) out[r * G + i] -= dot * u[i]!;
    }
  }
  for (let r = 0; r < n; r++) normalize(out.subarray(r * G, (r + 1) * G));
  return out;
}

/**
 * Retrofits the GloVe vectors of the vocabulary's words to WordNet: each word moves toward its
 * lemma and its lemma's synonyms (synset co-members, weighted by sense frequency); antonym pairs
 * are pushed apart while they still point the same way. Words GloVe lacks get the average of
 * their neighbours. Returns unit vectors; words with neither have none.
 */
function retrofit(
  wn: WordNetTable,
  glove: GloVe,
  base: Float32Array,
  opts: GloveBuildOptions,
  log: (msg: string) => void,
): Map<string, Float32Array> {
  const G = glove.dim;
  const words = wn.vocab.filter((_, i) => wn.kind[i] === 'word');
  const node = new Map(words.map((w, i) => [w, i]));
  const n = words.length;

  // Sense-weighted synonyms of a lemma, single words only.
  const synonymCache = new Map<string, Map<string, number>>();
  const synonyms = (lemma: string): Map<string, number> => {
    let out = synonymCache.get(lemma);
    if (out) return out;
    out = new Map();
    const entries = wn.wn.lemmas.get(lemma) ?? [];
    const senseWeights: { key: string; w: number }[] = [];
    for (const e of entries) e.synsets.forEach((key, k) => senseWeights.push({ key, w: (e.tagCounts[k]! + 1) / (k + 1) }));
    const total = senseWeights.reduce((a, s) => a + s.w, 0);
    for (const { key, w } of senseWeights) {
      const syn = wn.wn.synsets.get(key);
      if (!syn) continue;
      const others = syn.words.filter((x) => x !== lemma && /^[a-z]+$/.test(x));
      for (const x of others) out.set(x, (out.get(x) ?? 0) + w / total / others.length);
    }
    synonymCache.set(lemma, out);
    return out;
  };

  const edges: { j: Int32Array; w: Float64Array }[] = [];
  let edgeCount = 0;
  for (const w of words) {
    const acc = new Map<number, number>();
    const add = (x: string, weight: number) => {
      const j = node.get(x);
      if (j !== undefined && x !== w && weight > 0) acc.set(j, (acc.get(j) ?? 0) + weight);
    };
    const src = wn.sources.get(w) ?? [];
    for (const s of src) {
      if (s.lemma !== w) add(s.lemma, s.weight);
      for (const [x, sw] of synonyms(s.lemma)) add(x, s.weight * sw);
    }
    const js = [...acc.keys()].sort((a, b) => a - b);
    const total = js.reduce((a, j) => a + acc.get(j)!, 0);
    edges.push({ j: Int32Array.from(js), w: Float64Array.from(js.map((j) => acc.get(j)! / total)) });
    edgeCount += js.length;
  }

  // Antonyms: lexical '!' pointers between single words of the vocabulary.
  const antonyms: [number, number][] = [];
  for (const syn of wn.wn.synsets.values()) {
    for (const p of syn.pointers) {
      if (p.symbol !== '!' || p.source === 0) continue;
      const a = syn.words[p.source - 1];
      const b = wn.wn.synsets.get(p.target)?.words[p.targetWord - 1];
      const i = a === undefined ? undefined : node.get(a);
      const j = b === undefined ? undefined : node.get(b);
      if (i !== undefined && j !== undefined && i < j) antonyms.push([i, j]);
    }
  }
  log(`retrofitting ${n} words: ${edgeCount} synonym/lemma edges, ${antonyms.length} antonym pairs`);

  const own = new Float32Array(n * G);
  const has = new Uint8Array(n);
  words.forEach((w, i) => {
    const g = glove.index.get(w);
    if (g === undefined) return;
    own.set(base.subarray(g * G, (g + 1) * G), i * G);
    has[i] = 1;
  });
  let q = Float32Array.from(own);
  let known = Uint8Array.from(has);
  for (let it = 0; it < opts.retrofitIterations; it++) {
    const next = new Float32Array(n * G);
    const nextKnown = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const { j, w } = edges[i]!;
      const row = next.subarray(i * G, (i + 1) * G);
      let total = 0;
      if (has[i]) {
        for (let d = 0; d < G; d++) row[d] = own[i * G + d]!;
        total = 1;
      }
      for (let k = 0; k < j.length; k++) {
        const jj = j[k]!;
        if (!known[jj]) continue;
        const beta = opts.retrofitStrength * w[k]!;
        for (let d = 0; d < G; d++) row[d] += beta * q[jj * G + d]!;
        total += beta;
      }
      if (total > 0) {
        for (let d = 0; d < G; d++) row[d] /= total;
        nextKnown[i] = 1;
      }
    }
    for (const [a, b] of antonyms) {
      if (!nextKnown[a] || !nextKnown[b]) continue;
      const va = next.subarray(a * G, (a + 1) * G);
      const vb = next.subarray(b * G, (b + 1) * G);
      let dot = 0;
      let na = 0;
      let nb = 0;
      for (let d = 0; d < G; d++) (dot += va[d]! * vb[d]!), (na += va[d]! * va[d]!), (nb += vb[d]! * vb[d]!);
      const cos = dot / Math.sqrt(na * nb);
      if (!(cos > 0)) continue;
      const step = opts.antonymStep * cos;
      const sa = Math.sqrt(na);
      const sb = Math.sqrt(nb);
      for (let d = 0; d < G; d++) {
        const x = va[d]!;
        va[d] = x - (step * sa * vb[d]!) / sb;
        vb[d] = vb[d]! - (step * sb * x) / sa;
      }
    }
    q = next;
    known = nextKnown;
  }
  const out = new Map<string, Float32Array>();
  words.forEach((w, i) => {
    if (known[i]) out.set(w, normalize(Float32Array.from(q.subarray(i * G, (i + 1) * G))));
  });
  return out;
}

/** CLI: [--out DIR] [--set '{"gloveShare":0.6,...}'] (overrides are for experiments; `make model` passes none). */
function parseArgs(argv: string[]): GloveBuildOptions {
  const opts: GloveBuildOptions = { ...GLOVE_OPTIONS, wordnet: { ...GLOVE_OPTIONS.wordnet } };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') opts.outDir = path.resolve(argv[++i]!);
    else if (argv[i] === '--set') Object.assign(opts, JSON.parse(argv[++i]!) as Partial<GloveBuildOptions>);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return opts;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildGloveModel(parseArgs(process.argv.slice(2))).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
