/**
 * Offline replay of the cache's decision rule on recorded similarities, so a threshold sweep does
 * not need one HTTP pass per threshold. It mirrors SemanticCache.lookup: the exact tier on the
 * normalized last user turn, then the `CANDIDATES` stored entries nearest by cosine, rescored as
 * the model was calibrated (cosine, or hybrid cosine + char-3-gram overlap) and re-sorted, each
 * accepted when score >= threshold and (if on) the guard agrees; only misses are stored.
 * Nearest neighbours are exact here (brute force); the HTTP pass uses HNSW, and the bench reports
 * how often the two agree.
 */
import type { Guard } from '../../src/cache/guard.js';
import { DEFAULT_HYBRID_WEIGHTS, hybridSimilarity, type HybridWeights } from '../../src/cache/hybrid-score.js';
import { normalizeText } from '../../src/cache/request-key.js';
import type { Embedder, ModelDefaults } from '../../src/embedding/embedder.js';
import { embedAll } from './evaluate.js';
import type { Decision } from './quality.js';
import type { Workload } from './workload.js';
import type { Verifier } from '../../src/cache/verify/verifier.js';

/** SemanticCache checks this many neighbours (kept in step with src/cache/semantic-cache.ts). */
export const CANDIDATES = 5;

export type Scoring = { kind: 'cosine' } | { kind: 'hybrid'; weights: HybridWeights } | { kind: 'verifier'; verifier: Verifier };

/**
 * The scoring the gateway picks for a model (as src/server.ts does): the learned verifier when the
 * model has one and the guard is on, else from models/<name>/gateway.json.
 */
export function scoringFor(defaults: ModelDefaults, verifier?: Verifier): Scoring {
  if (verifier) return { kind: 'verifier', verifier };
  return defaults.score === 'hybrid' ? { kind: 'hybrid', weights: defaults.hybridWeights ?? DEFAULT_HYBRID_WEIGHTS } : { kind: 'cosine' };
}

export class ReplaySimulator {
  readonly n: number;
  private readonly texts: string[];
  private readonly exactKeys: string[];
  /** Lower triangle: sim(i, j) for j < i at i*(i-1)/2 + j. */
  private readonly sims: Float32Array;
  private readonly guardCache = new Map<number, boolean>();
  private readonly scoreCache = new Map<number, number>();

  private constructor(
    workload: Workload,
    vectors: Float32Array[],
    private readonly guard: Guard | undefined,
    private readonly scoring: Scoring,
  ) {
    this.n = workload.items.length;
    this.texts = workload.items.map((x) => normalizeText(x.text));
    this.exactKeys = this.texts;
    this.sims = new Float32Array((this.n * (this.n - 1)) / 2);
    for (let i = 1; i < this.n; i++) {
      const a = vectors[i]!;
      const row = (i * (i - 1)) / 2;
      for (let j = 0; j < i; j++) {
        const b = vectors[j]!;
        let dot = 0;
        for (let k = 0; k < a.length; k++) dot += a[k]! * b[k]!;
        this.sims[row + j] = dot;
      }
    }
  }

  /** Embeds the workload's texts as the gateway does (normalized last user turn). */
  static async create(workload: Workload, embedder: Embedder, guard: Guard | undefined, scoring: Scoring = { kind: 'cosine' }): Promise<ReplaySimulator> {
    const texts = workload.items.map((x) => normalizeText(x.text));
    const vectors = await embedAll(embedder, texts, 64);
    return new ReplaySimulator(
      workload,
      texts.map((t) => vectors.get(t)!),
      guard,
      scoring,
    );
  }

  /** What the threshold is compared with for a stored entry and an incoming request. */
  private score(stored: number, incoming: number, cosine: number): number {
    if (this.scoring.kind === 'cosine') return cosine;
    const key = incoming * this.n + stored;
    let s = this.scoreCache.get(key);
    if (s === undefined) {
      const sc = this.scoring;
      s =
        sc.kind === 'verifier'
          ? cosine < (sc.verifier.weights.minCosine ?? -1)
            ? 0
            : sc.verifier.score(cosine, this.texts[stored]!, this.texts[incoming]!).score
          : hybridSimilarity(cosine, this.texts[stored]!, this.texts[incoming]!, sc.weights);
      this.scoreCache.set(key, s);
    }
    return s;
  }

  similarity(i: number, j: number): number {
    if (i === j) return 1;
    const [a, b] = i > j ? [i, j] : [j, i];
    return this.sims[(a * (a - 1)) / 2 + b]!;
  }

  private guardAgrees(stored: number, incoming: number): boolean {
    const key = incoming * this.n + stored;
    let ok = this.guardCache.get(key);
    if (ok === undefined) {
      ok = this.guard!.agrees(this.texts[stored]!, this.texts[incoming]!).ok;
      this.guardCache.set(key, ok);
    }
    return ok;
  }

  /** The decisions the cache makes over the first `limit` requests at this threshold. */
  run(threshold: number, useGuard: boolean, limit = this.n): Decision[] {
    if (useGuard && !this.guard) throw new Error('no guard given');
    const exact = new Map<string, number>();
    const stored: number[] = [];
    const out: Decision[] = [];
    const topIds = new Int32Array(CANDIDATES);
    const topSims = new Float32Array(CANDIDATES);
    for (let i = 0; i < Math.min(limit, this.n); i++) {
      const ex = exact.get(this.exactKeys[i]!);
      if (ex !== undefined) {
        out.push({ status: 'hit', source: ex, similarity: 1 });
        continue;
      }
      // Top CANDIDATES stored entries by similarity, most similar first.
      let count = 0;
      for (const j of stored) {
        const s = this.similarity(i, j);
        if (count < CANDIDATES) count++;
        else if (s <= topSims[CANDIDATES - 1]!) continue;
        let k = count - 1;
        while (k > 0 && topSims[k - 1]! < s) {
          topSims[k] = topSims[k - 1]!;
          topIds[k] = topIds[k - 1]!;
          k--;
        }
        topSims[k] = s;
        topIds[k] = j;
      }
      const candidates: { id: number; score: number }[] = [];
      for (let k = 0; k < count; k++) candidates.push({ id: topIds[k]!, score: this.score(topIds[k]!, i, topSims[k]!) });
      candidates.sort((a, b) => b.score - a.score);
      let decision: Decision = { status: 'miss' };
      for (const c of candidates) {
        if (c.score < threshold) break;
        // The verifier reads what the guard checks; the gateway runs no separate guard with it.
        if (useGuard && this.scoring.kind !== 'verifier' && !this.guardAgrees(c.id, i)) continue;
        decision = { status: 'semantic-hit', source: c.id, similarity: c.score };
        break;
      }
      out.push(decision);
      if (decision.status === 'miss') {
        stored.push(i);
        exact.set(this.exactKeys[i]!, i);
      }
    }
    return out;
  }
}

/** Share of requests where two decision lists agree (same status class and same source). */
export function agreement(a: Decision[], b: Decision[]): { agree: number; total: number; rate: number } {
  const total = Math.min(a.length, b.length);
  let agree = 0;
  for (let i = 0; i < total; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if ((x.status === 'miss') === (y.status === 'miss') && x.source === y.source) agree++;
  }
  return { agree, total, rate: total === 0 ? NaN : agree / total };
}

/** 0.70, 0.71, ... 0.99 (rounded, so keys print cleanly). */
export function thresholdGrid(from = 0.7, to = 0.99, step = 0.01): number[] {
  const out: number[] = [];
  for (let t = from; t <= to + 1e-9; t += step) out.push(Math.round(t * 1e4) / 1e4);
  return out;
}
