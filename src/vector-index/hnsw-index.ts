import fs from 'node:fs';
import path from 'node:path';
import hnswlib from 'hnswlib-node';
import { fsyncDir } from '../store/process-lock.js';

export interface Neighbor {
  id: number;
  /** Cosine similarity in [-1, 1]. */
  similarity: number;
}

export interface HnswSettings {
  m: number;
  efConstruction: number;
  efSearch: number;
}

/** What we persist next to the index so a mismatched file is detected and rebuilt, not trusted. */
interface IndexMeta {
  version: 1;
  model: string;
  dimension: number;
  /** Live labels; hnswlib's own list also holds deleted ones. */
  ids: number[];
}

const INITIAL_CAPACITY = 1024;

/**
 * The vector-index seam over hnswlib-node (cosine space). Labels are the cache entries' numeric
 * ids. Grows by doubling; removed entries are marked deleted and their slots reused.
 */
export class VectorIndex {
  private index: hnswlib.HierarchicalNSW;
  private readonly live = new Set<number>();

  private constructor(
    readonly dimension: number,
    private readonly model: string,
    private readonly settings: HnswSettings,
  ) {
    this.index = this.fresh(INITIAL_CAPACITY);
  }

  static create(dimension: number, model: string, settings: HnswSettings): VectorIndex {
    return new VectorIndex(dimension, model, settings);
  }

  /**
   * Loads `file` if it exists and matches this model and dimension; returns undefined when it is
   * missing, from another model, or unreadable (the caller then rebuilds from the store).
   */
  static load(file: string, dimension: number, model: string, settings: HnswSettings): VectorIndex | undefined {
    const metaFile = `${file}.meta.json`;
    if (!fs.existsSync(file) || !fs.existsSync(metaFile)) return undefined;
    try {
      const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as IndexMeta;
      if (meta.version !== 1 || meta.model !== model || meta.dimension !== dimension) return undefined;
      const vi = new VectorIndex(dimension, model, settings);
      const index = new hnswlib.HierarchicalNSW('cosine', dimension);
      index.readIndexSync(file, true);
      index.setEf(settings.efSearch);
      vi.index = index;
      const stored = new Set(index.getIdsList());
      for (const id of meta.ids) {
        if (!stored.has(id)) return undefined;
        vi.live.add(id);
      }
      return vi;
    } catch {
      return undefined;
    }
  }

  get size(): number {
    return this.live.size;
  }

  has(id: number): boolean {
    return this.live.has(id);
  }

  ids(): IterableIterator<number> {
    return this.live.values();
  }

  add(id: number, vector: Float32Array): void {
    if (vector.length !== this.dimension) throw new Error(`vector has ${vector.length} dimensions, index has ${this.dimension}`);
    if (this.live.has(id)) this.remove(id);
    if (this.index.getCurrentCount() >= this.index.getMaxElements()) {
      // A loaded index has room for exactly what it held (possibly nothing), so grow from a floor.
      this.index.resizeIndex(Math.max(INITIAL_CAPACITY, this.index.getMaxElements() * 2));
    }
    this.index.addPoint(Array.from(vector), id, true);
    this.live.add(id);
  }

  remove(id: number): void {
    if (!this.live.delete(id)) return;
    this.index.markDelete(id);
  }

  /** Nearest `k` live entries that pass `filter`, most similar first. */
  search(vector: Float32Array, k: number, filter?: (id: number) => boolean): Neighbor[] {
    if (this.live.size === 0) return [];
    const n = Math.min(k, this.live.size);
    const res = this.index.searchKnn(Array.from(vector), n, filter);
    return res.neighbors
      .map((id, i) => ({ id, similarity: 1 - res.distances[i]! }))
      .sort((a, b) => b.similarity - a.similarity);
  }

  /** Atomic save: write a temp file, fsync it, rename over the old one, fsync the directory. */
  save(file: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    this.index.writeIndexSync(tmp);
    fsyncFile(tmp);
    const meta: IndexMeta = { version: 1, model: this.model, dimension: this.dimension, ids: [...this.live] };
    const metaTmp = `${file}.meta.json.tmp-${process.pid}`;
    fs.writeFileSync(metaTmp, JSON.stringify(meta));
    fsyncFile(metaTmp);
    // The index goes first: a crash between the renames leaves meta naming ids the index may not
    // hold, which load() rejects; ids the store has but the index lacks are re-added on start.
    fs.renameSync(tmp, file);
    fs.renameSync(metaTmp, `${file}.meta.json`);
    fsyncDir(path.dirname(file));
  }

  private fresh(capacity: number): hnswlib.HierarchicalNSW {
    const index = new hnswlib.HierarchicalNSW('cosine', this.dimension);
    index.initIndex({
      maxElements: capacity,
      m: this.settings.m,
      efConstruction: this.settings.efConstruction,
      randomSeed: 42,
      allowReplaceDeleted: true,
    });
    index.setEf(this.settings.efSearch);
    return index;
  }
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
