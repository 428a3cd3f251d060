/**
 * The embedding seam. Implementations turn texts into unit-length vectors of `dimension` floats;
 * the cache only ever sees this interface, so a model is swapped by config (EMBED_MODEL).
 */
export interface Embedder {
  /** Model name as configured (a folder under MODELS_DIR, or a hub id). */
  readonly name: string;
  readonly dimension: number;
  /** How vectors are computed: a direct table lookup (static models) or the transformers.js pipeline. */
  readonly runtime?: 'static-table' | 'pipeline';
  /** One L2-normalized vector per text, in order. */
  embed(texts: string[]): Promise<Float32Array[]>;
  close?(): Promise<void>;
}

/** Per-model gateway defaults, read from `models/<name>/gateway.json` when present. */
export interface ModelDefaults {
  /** Lowest threshold that kept precision >= the calibration target on the evaluation sets. */
  similarityThreshold: number;
  calibratedAt?: string;
  targetPrecision?: number;
  /** The score the threshold applies to; absent means the plain cosine. */
  score?: 'cosine' | 'hybrid';
  hybridWeights?: { embedding: number; stopWordWeight: number };
}

export class EmbedderError extends Error {}
