/**
 * Hybrid similarity for semantic-cache candidates: the embedding cosine the HNSW search returned,
 * blended with a cheap lexical similarity between the stored entry's text and the new request's
 * text.
 *
 * Why. The default static model reads a bag of WordNet-weighted tokens: it is good at synonyms and
 * paraphrases but loses surface evidence (shared rare words, misspellings of the same word,
 * identical phrasing), which char-n-gram overlap captures. The two err on different pairs, so a
 * blend ranks same-meaning pairs above different-meaning ones better than either alone. It is
 * computed only for the few (<= 5) in-scope candidates the index returned, so its cost is a few
 * microseconds per lookup, and it needs no corpus statistics: nothing is fitted on user traffic or
 * on evaluation data.
 *
 * What. `lexicalSimilarity` is the cosine between weighted char-3-gram bags of the two texts after
 * normalization (NFKC, lowercase, punctuation dropped). Each word contributes the 3-grams of
 * " word " (space-padded, so word starts and ends count and a one-letter word is one gram), with
 * weight 1 for content words and `stopWordWeight` for English function words and chat filler
 * ("please", "could you", "tell me"), a fixed list standing in for an IDF. Typos keep most grams
 * ("recieve" / "receive" share " re", "rec", "ve "), reordering keeps all of them. It lies in
 * [0, 1] and is 1 for texts that normalize to the same word sequence.
 *
 * `hybridSimilarity` = `embedding * cosine + (1 - embedding) * lexical`, a weighted mean: in
 * [-1, 1] (in [0, 1] whenever the cosine is >= 0), strictly increasing in the cosine for
 * embedding > 0, equal to 1 for identical texts with cosine 1, and never above 1. The calibrated
 * cache threshold in models/<model>/gateway.json (`"score": "hybrid"`) is a threshold on this
 * value, for the weights stored next to it.
 */

export interface HybridWeights {
  /** Weight of the embedding cosine in the mean; the lexical score gets 1 - embedding. In (0, 1]. */
  embedding: number;
  /** Weight of a stop word's grams relative to a content word's (1). In [0, 1]. */
  stopWordWeight: number;
}

/**
 * Chosen on the project's own dev set (bench/lib/hybrid-dev-set.ts, `EVAL_TUNE=1 make
 * eval-embedder`), never on the evaluation sets: the cosine keeps the larger share because it
 * carries the paraphrase knowledge, and function words keep a little weight so that "how to X" and
 * "X" still differ from "why X".
 */
export const DEFAULT_HYBRID_WEIGHTS: Readonly<HybridWeights> = Object.freeze({ embedding: 0.7, stopWordWeight: 0.2 });

/** English function words and chat filler: present in most prompts, so weak evidence of sameness. */
const STOP_WORDS = new Set(
  `a an the and or but if then else so as of at by for from in into on onto off out over under to up down with within
  without about above after again against all am any are be because been before being below between both can could
  did do does doing done during each few further had has have having he her here hers him his how i i'm me my is it
  its itself just let may might more most must our ours own same shall she should some such than that their them
  there these they this those through too until very was we were what when where which while who whom whose why will
  would you your yours also please kindly hi hello hey thanks thank dear ok okay yes tell explain give show help us
  get got way thing things something anything someone want need know really actually use using s t d ll re ve m im
  dont doesnt didnt isnt arent cant wont`
    .split(/\s+/)
    .filter(Boolean),
);

/** A text's weighted gram bag: gram keys ascending, their weights, and the L2 norm. */
interface GramBag {
  keys: Float64Array;
  weights: Float64Array;
  norm: number;
}

const EMPTY: GramBag = { keys: new Float64Array(0), weights: new Float64Array(0), norm: 0 };

function words(text: string): string[] {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/['’]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
    .split(' ')
    .filter(Boolean);
}

/**
 * A gram is three UTF-16 code units packed exactly into one number (48 bits < 2^53). Content
 * words' and stop words' grams go to two typed arrays, each sorted, then merged into unique
 * keys with summed weights: no string or Map entry per gram.
 */
function gramBag(text: string, stopWordWeight: number): GramBag {
  const list = words(text);
  let total = 0;
  for (const word of list) total += word.length;
  const content = new Float64Array(total);
  const stop = new Float64Array(total);
  let nc = 0;
  let ns = 0;
  for (const word of list) {
    const isStop = STOP_WORDS.has(word);
    if (isStop && stopWordWeight === 0) continue;
    // " word ": word.length grams over the space-padded word (32 = space).
    let c0 = 32;
    let c1 = word.charCodeAt(0);
    for (let i = 1; i <= word.length; i++) {
      const c2 = i < word.length ? word.charCodeAt(i) : 32;
      const key = c0 * 4294967296 + c1 * 65536 + c2;
      if (isStop) stop[ns++] = key;
      else content[nc++] = key;
      c0 = c1;
      c1 = c2;
    }
  }
  if (nc + ns === 0) return EMPTY;
  const a = content.subarray(0, nc).sort();
  const b = stop.subarray(0, ns).sort();
  const keys = new Float64Array(nc + ns);
  const weights = new Float64Array(nc + ns);
  let n = -1;
  let i = 0;
  let j = 0;
  while (i < nc || j < ns) {
    let key: number;
    let w: number;
    if (j >= ns || (i < nc && a[i]! <= b[j]!)) (key = a[i++]!), (w = 1);
    else (key = b[j++]!), (w = stopWordWeight);
    if (n >= 0 && keys[n] === key) weights[n]! += w;
    else (keys[++n] = key), (weights[n] = w);
  }
  let sq = 0;
  for (let k = 0; k <= n; k++) sq += weights[k]! * weights[k]!;
  return { keys: keys.subarray(0, n + 1), weights: weights.subarray(0, n + 1), norm: Math.sqrt(sq) };
}

/**
 * Small memo of analysed texts: a stored entry is compared again on later lookups and the new
 * text against up to five candidates. Bounded, least recently used out first (about 2 KB each).
 */
const MEMO_SIZE = 4096;
const memo = new Map<string, GramBag>();

function bagOf(text: string, stopWordWeight: number): GramBag {
  const key = stopWordWeight === DEFAULT_HYBRID_WEIGHTS.stopWordWeight ? text : `${stopWordWeight}\u0000${text}`;
  let bag = memo.get(key);
  if (bag) {
    memo.delete(key);
    memo.set(key, bag);
  } else {
    bag = gramBag(text, stopWordWeight);
    if (memo.size >= MEMO_SIZE) memo.delete(memo.keys().next().value!);
    memo.set(key, bag);
  }
  return bag;
}

/**
 * Cosine of the weighted char-3-gram bags of two texts, in [0, 1]. 1 when both normalize to the
 * same words; 0 when they share no gram or either has no word. Texts made only of stop words
 * still compare (on their stop-word grams) as long as stopWordWeight > 0.
 */
export function lexicalSimilarity(a: string, b: string, stopWordWeight = DEFAULT_HYBRID_WEIGHTS.stopWordWeight): number {
  const va = bagOf(a, stopWordWeight);
  const vb = bagOf(b, stopWordWeight);
  if (va.norm === 0 || vb.norm === 0) return 0;
  const ka = va.keys;
  const kb = vb.keys;
  let i = 0;
  let j = 0;
  let dot = 0;
  while (i < ka.length && j < kb.length) {
    const x = ka[i]!;
    const y = kb[j]!;
    if (x === y) dot += va.weights[i++]! * vb.weights[j++]!;
    else if (x < y) i++;
    else j++;
  }
  return Math.min(1, dot / (va.norm * vb.norm));
}

/**
 * The score the cache compares with its threshold for one candidate:
 * `weights.embedding * embeddingCosine + (1 - weights.embedding) * lexicalSimilarity(storedText, newText)`.
 * The cosine is clamped to [-1, 1] (float error) and a NaN cosine counts as -1, so the result is
 * always in [-1, 1]. Symmetric in the two texts.
 */
export function hybridSimilarity(
  embeddingCosine: number,
  storedText: string,
  newText: string,
  weights: Readonly<HybridWeights> = DEFAULT_HYBRID_WEIGHTS,
): number {
  const cos = Number.isNaN(embeddingCosine) ? -1 : Math.max(-1, Math.min(1, embeddingCosine));
  const alpha = weights.embedding;
  if (alpha >= 1) return cos;
  const lex = lexicalSimilarity(storedText, newText, weights.stopWordWeight);
  return alpha * cos + (1 - alpha) * lex;
}
