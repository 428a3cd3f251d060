import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { VectorIndex, type HnswSettings, type Neighbor } from './hnsw-index.js';

/**
 * The vector index partitioned by cache scope (tenant, namespace, model, parameters, context):
 * a lookup only ever searches its own scope's entries. A scope with at most `flatLimit` entries
 * is scanned exactly (a dot product per entry, recall 1 by construction); a larger one gets its
 * own HNSW index. Search cost then follows the size of one scope, not the number of scopes or
 * the whole cache, and there is no per-candidate filter callback from native code into JS for
 * the scope (the old single index did, and lost recall when the scope was a small share of it).
 */
export interface ScopedIndexOptions {
  dimension: number;
  model: string;
  hnsw: HnswSettings;
  /** Largest scope scanned exactly; one more entry moves it to its own HNSW index. */
  flatLimit: number;
}

/** Exact scan over the vectors of one small scope. */
class FlatPartition {
  ids: number[] = [];
  private data: Float32Array;
  private readonly slot = new Map<number, number>();

  constructor(private readonly dimension: number) {
    this.data = new Float32Array(dimension * 4);
  }

  get size(): number {
    return this.ids.length;
  }

  has(id: number): boolean {
    return this.slot.has(id);
  }

  vector(id: number): Float32Array | undefined {
    const i = this.slot.get(id);
    return i === undefined ? undefined : this.data.subarray(i * this.dimension, (i + 1) * this.dimension);
  }

  add(id: number, v: Float32Array): void {
    const d = this.dimension;
    let i = this.slot.get(id);
    if (i === undefined) {
      i = this.ids.length;
      if ((i + 1) * d > this.data.length) {
        const grown = new Float32Array(this.data.length * 2);
        grown.set(this.data);
        this.data = grown;
      }
      this.ids.push(id);
      this.slot.set(id, i);
    }
    this.data.set(v, i * d);
  }

  remove(id: number): boolean {
    const i = this.slot.get(id);
    if (i === undefined) return false;
    const last = this.ids.length - 1;
    const d = this.dimension;
    if (i !== last) {
      // Swap-remove: the last entry takes the freed slot.
      const moved = this.ids[last]!;
      this.ids[i] = moved;
      this.slot.set(moved, i);
      this.data.copyWithin(i * d, last * d, (last + 1) * d);
    }
    this.ids.pop();
    this.slot.delete(id);
    return true;
  }

  /** Vectors are unit length, so the dot product is the cosine. */
  search(q: Float32Array, k: number, filter?: (id: number) => boolean): Neighbor[] {
    const d = this.dimension;
    const best: Neighbor[] = [];
    for (let i = 0; i < this.ids.length; i++) {
      let s = 0;
      const base = i * d;
      for (let j = 0; j < d; j++) s += this.data[base + j]! * q[j]!;
      if (best.length === k && s <= best[k - 1]!.similarity) continue;
      const id = this.ids[i]!;
      if (filter && !filter(id)) continue;
      let p = best.length < k ? best.length : k - 1;
      while (p > 0 && best[p - 1]!.similarity < s) {
        best[p] = best[p - 1]!;
        p--;
      }
      best[p] = { id, similarity: s };
    }
    return best;
  }
}

type Partition = { kind: 'flat'; flat: FlatPartition } | { kind: 'hnsw'; index: VectorIndex };

interface SavedMeta {
  version: 1;
  model: string;
  dimension: number;
  /** Large scopes, each with its HNSW file (by a hash of the scope). */
  hnsw: Array<{ scope: string; file: string }>;
}

export class ScopedIndex {
  private readonly partitions = new Map<string, Partition>();
  private readonly scopeOf = new Map<number, string>();
  private saving: Promise<void> | undefined;
  /** An HNSW partition was promoted or dropped since the last save. */
  private layoutChanged = false;

  constructor(private readonly opts: ScopedIndexOptions) {}

  get dimension(): number {
    return this.opts.dimension;
  }

  get size(): number {
    return this.scopeOf.size;
  }

  get scopes(): number {
    return this.partitions.size;
  }

  has(id: number): boolean {
    return this.scopeOf.has(id);
  }

  ids(): IterableIterator<number> {
    return this.scopeOf.keys();
  }

  add(id: number, scope: string, vector: Float32Array): void {
    if (vector.length !== this.opts.dimension) throw new Error(`vector has ${vector.length} dimensions, index has ${this.opts.dimension}`);
    const previous = this.scopeOf.get(id);
    if (previous !== undefined && previous !== scope) this.remove(id);
    let p = this.partitions.get(scope);
    if (!p) {
      p = { kind: 'flat', flat: new FlatPartition(this.opts.dimension) };
      this.partitions.set(scope, p);
    }
    if (p.kind === 'flat') {
      p.flat.add(id, vector);
      if (p.flat.size > this.opts.flatLimit) {
        this.partitions.set(scope, { kind: 'hnsw', index: this.promote(p.flat) });
        this.layoutChanged = true;
      }
    } else p.index.add(id, vector);
    this.scopeOf.set(id, scope);
  }

  remove(id: number): void {
    const scope = this.scopeOf.get(id);
    if (scope === undefined) return;
    this.scopeOf.delete(id);
    const p = this.partitions.get(scope)!;
    if (p.kind === 'flat') p.flat.remove(id);
    else p.index.remove(id);
    const left = p.kind === 'flat' ? p.flat.size : p.index.size;
    if (left === 0) {
      this.partitions.delete(scope);
      if (p.kind === 'hnsw') this.layoutChanged = true;
    }
  }

  /** Nearest `k` entries of `scope` that pass `filter`, most similar first. */
  search(scope: string, vector: Float32Array, k: number, filter?: (id: number) => boolean): Neighbor[] {
    const p = this.partitions.get(scope);
    if (!p) return [];
    return p.kind === 'flat' ? p.flat.search(vector, k, filter) : p.index.search(vector, k, filter);
  }

  private promote(flat: FlatPartition): VectorIndex {
    const index = VectorIndex.create(this.opts.dimension, this.opts.model, this.opts.hnsw);
    for (const id of flat.ids) index.add(id, flat.vector(id)!);
    return index;
  }

  /** Whether a save would write anything (an HNSW partition changed, or the set of them did). */
  get dirty(): boolean {
    if (this.layoutChanged) return true;
    for (const p of this.partitions.values()) if (p.kind === 'hnsw' && p.index.dirty) return true;
    return false;
  }

  /**
   * Saves the HNSW partitions (the ones worth not rebuilding) under `dir`, on the event loop;
   * small scopes are rebuilt from the vectors the store keeps. Only changed partitions are
   * written. Waits for nothing: call flush() when a background save may be running.
   */
  save(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    const files: Array<[VectorIndex, string]> = [];
    for (const [scope, p] of this.partitions) if (p.kind === 'hnsw') files.push([p.index, this.fileOf(scope)]);
    for (const [index, file] of files) if (index.dirty || !fs.existsSync(path.join(dir, file))) index.save(path.join(dir, file));
    this.writeMeta(dir);
  }

  /**
   * The same, off the event loop: each changed partition is written by a libuv thread (see
   * VectorIndex.saveInBackground), one after another. Concurrent calls share one save.
   * `beforeWrite` is told each partition's expected size and may refuse it (throw).
   */
  saveInBackground(dir: string, beforeWrite?: (bytes: number) => void): Promise<void> {
    if (this.saving) return this.saving;
    this.saving = (async () => {
      await fs.promises.mkdir(dir, { recursive: true });
      for (const [scope, p] of [...this.partitions]) {
        if (p.kind !== 'hnsw') continue;
        const file = path.join(dir, this.fileOf(scope));
        if (p.index.dirty || !fs.existsSync(file)) await p.index.saveInBackground(file, beforeWrite);
      }
      this.writeMeta(dir);
    })().finally(() => {
      this.saving = undefined;
    });
    return this.saving;
  }

  /** Waits for a background save in flight, then saves what changed since (shutdown). */
  async flush(dir: string): Promise<void> {
    while (this.saving) await this.saving.catch(() => {});
    for (const p of this.partitions.values()) if (p.kind === 'hnsw') await p.index.settle();
    this.save(dir);
  }

  private fileOf(scope: string): string {
    return `${crypto.createHash('sha256').update(scope).digest('hex').slice(0, 32)}.hnsw`;
  }

  /** The meta file goes last and names only files already in place; other files are removed. */
  private writeMeta(dir: string): void {
    this.layoutChanged = false;
    const meta: SavedMeta = { version: 1, model: this.opts.model, dimension: this.opts.dimension, hnsw: [] };
    const keep = new Set<string>(['meta.json']);
    for (const [scope, p] of this.partitions) {
      if (p.kind !== 'hnsw') continue;
      const file = this.fileOf(scope);
      if (!fs.existsSync(path.join(dir, file))) {
        this.layoutChanged = true; // promoted during this save: listed by the next one
        continue;
      }
      meta.hnsw.push({ scope, file });
      keep.add(file).add(`${file}.meta.json`);
    }
    const tmp = path.join(dir, `meta.json.tmp-${process.pid}`);
    fs.writeFileSync(tmp, JSON.stringify(meta));
    fs.renameSync(tmp, path.join(dir, 'meta.json'));
    for (const f of fs.readdirSync(dir)) if (!keep.has(f) && !f.includes('.tmp-')) fs.rmSync(path.join(dir, f), { force: true });
  }

  /**
   * Loads the saved HNSW partitions of `dir` (those matching this model and dimension); the
   * caller adds every entry the index does not hold yet (small scopes, and anything newer).
   */
  static load(dir: string, opts: ScopedIndexOptions): ScopedIndex {
    const index = new ScopedIndex(opts);
    let meta: SavedMeta;
    try {
      meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as SavedMeta;
    } catch {
      return index;
    }
    if (meta.version !== 1 || meta.model !== opts.model || meta.dimension !== opts.dimension) return index;
    for (const { scope, file } of meta.hnsw) {
      const vi = VectorIndex.load(path.join(dir, file), opts.dimension, opts.model, opts.hnsw);
      if (!vi || vi.size === 0) continue;
      index.partitions.set(scope, { kind: 'hnsw', index: vi });
      for (const id of vi.ids()) index.scopeOf.set(id, scope);
    }
    return index;
  }
}
