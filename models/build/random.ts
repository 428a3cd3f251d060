/** Deterministic, seedable pseudo-random vectors keyed by strings (no global state). */

/** 32-bit string hash (FNV-1a followed by a murmur3 finalizer). */
export function hash32(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32 generator. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Unit-length Gaussian random vector determined by (key, seed). */
export function gaussianUnit(key: string, dim: number, seed: number): Float32Array {
  const next = rng(hash32(key, seed));
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i += 2) {
    const u1 = Math.max(next(), 1e-12);
    const u2 = next();
    const r = Math.sqrt(-2 * Math.log(u1));
    v[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < dim) v[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return normalize(v);
}

export function normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

/** acc += w * v */
export function axpy(acc: Float32Array, v: Float32Array, w: number): void {
  for (let i = 0; i < acc.length; i++) acc[i] += w * v[i]!;
}

/** Memoizes gaussianUnit per key within one namespace. */
export class VectorBank {
  private cache = new Map<string, Float32Array>();
  constructor(
    readonly dim: number,
    readonly seed: number,
  ) {}
  get(key: string): Float32Array {
    let v = this.cache.get(key);
    if (!v) {
      v = gaussianUnit(key, this.dim, this.seed);
      this.cache.set(key, v);
    }
    return v;
  }
}
