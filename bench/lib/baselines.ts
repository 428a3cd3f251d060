/** Lexical baselines: exact match after normalization, and char-3-gram TF-IDF cosine. */

/** Lowercase, strip punctuation, collapse whitespace: what an exact-match cache would key on. */
export function normalizeText(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFKC')
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function exactMatchScore(a: string, b: string): number {
  return normalizeText(a) === normalizeText(b) ? 1 : 0;
}

/** Char-n-gram TF-IDF, IDF fitted on a corpus (the evaluation texts themselves). */
export class CharNgramTfidf {
  private df = new Map<string, number>();
  private docs = 0;
  private cache = new Map<string, Map<string, number>>();

  constructor(
    corpus: Iterable<string>,
    readonly n = 3,
  ) {
    for (const text of corpus) {
      this.docs++;
      for (const g of new Set(this.grams(text))) this.df.set(g, (this.df.get(g) ?? 0) + 1);
    }
  }

  private grams(text: string): string[] {
    const s = ` ${normalizeText(text)} `;
    const out: string[] = [];
    for (let i = 0; i + this.n <= s.length; i++) out.push(s.slice(i, i + this.n));
    return out;
  }

  /** L2-normalized sparse vector. */
  vector(text: string): Map<string, number> {
    const hit = this.cache.get(text);
    if (hit) return hit;
    const tf = new Map<string, number>();
    for (const g of this.grams(text)) tf.set(g, (tf.get(g) ?? 0) + 1);
    let norm = 0;
    for (const [g, c] of tf) {
      const w = c * Math.log((1 + this.docs) / (1 + (this.df.get(g) ?? 0)) + 1);
      tf.set(g, w);
      norm += w * w;
    }
    norm = Math.sqrt(norm);
    if (norm > 0) for (const [g, w] of tf) tf.set(g, w / norm);
    this.cache.set(text, tf);
    return tf;
  }

  similarity(a: string, b: string): number {
    const va = this.vector(a);
    const vb = this.vector(b);
    const [small, large] = va.size <= vb.size ? [va, vb] : [vb, va];
    let dot = 0;
    for (const [g, w] of small) dot += w * (large.get(g) ?? 0);
    return dot;
  }
}
