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
 *
 * Saves run off the event loop (hnswlib-node's writeIndex works on a libuv thread). hnswlib is not
 * safe to mutate while it is being written, so adds and removes that arrive during a save are held
 * aside and applied when it ends: held adds are searched by exact scan (there are few), held
 * removes are hidden from results at once.
 */
export class VectorIndex {
  private index: hnswlib.HierarchicalNSW;
  /** Labels live for callers (includes held adds, excludes held removes). */
  private readonly live = new Set<number>();
  /** Labels present and not deleted in the hnswlib structure. */
  private readonly indexed = new Set<number>();
  private readonly heldAdds = new Map<number, Float32Array>();
  private readonly heldRemoves = new Set<number>();
  private saving: Promise<void> | undefined;
  /** Changed since the last save began. */
  private changed = false;

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
        vi.indexed.add(id);
      }
      return vi;
    } catch {
      return undefined;
    }
  }

  get size(): number {
    return this.live.size;
  }

  /** Whether there are changes a save has not yet written (or begun writing). */
  get dirty(): boolean {
    return this.changed || this.heldAdds.size > 0 || this.heldRemoves.size > 0;
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
    this.live.add(id);
    if (this.saving) {
      this.heldAdds.set(id, vector);
      return;
    }
    this.addNow(id, vector);
  }

  remove(id: number): void {
    if (!this.live.delete(id)) return;
    if (this.saving) {
      this.heldAdds.delete(id);
      if (this.indexed.has(id)) this.heldRemoves.add(id);
      return;
    }
    this.removeNow(id);
  }

  /** Nearest `k` live entries that pass `filter`, most similar first. */
  search(vector: Float32Array, k: number, filter?: (id: number) => boolean): Neighbor[] {
    if (this.live.size === 0) return [];
    let out: Neighbor[] = [];
    const n = Math.min(k, this.indexed.size);
    if (n > 0) {
      const hidden = this.heldRemoves;
      const pass = hidden.size === 0 ? filter : (id: number) => !hidden.has(id) && (!filter || filter(id));
      const res = this.index.searchKnn(Array.from(vector), n, pass);
      out = res.neighbors.map((id, i) => ({ id, similarity: 1 - res.distances[i]! }));
    }
    for (const [id, v] of this.heldAdds) {
      if (!filter || filter(id)) out.push({ id, similarity: cosine(vector, v) });
    }
    return out.sort((a, b) => b.similarity - a.similarity).slice(0, k);
  }

  /** Atomic save on the event loop (tests, tools); see flush() when a background save may run. */
  save(file: string): void {
    if (this.saving) throw new Error('an index save is already running');
    this.changed = false;
    const tmp = `${file}.tmp-${process.pid}`;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.index.writeIndexSync(tmp);
    fsyncFile(tmp);
    this.commitSave(file, tmp, [...this.indexed]);
  }

  /** Waits for a background save in flight (its held changes are then applied). */
  async settle(): Promise<void> {
    while (this.saving) await this.saving.catch(() => {});
  }

  /** Waits for a background save in flight, then saves what changed since (shutdown). */
  async flush(file: string): Promise<void> {
    await this.settle();
    if (this.dirty) this.save(file);
  }

  /**
   * Atomic save off the event loop: the index is written to a temp file by a libuv thread, then
   * fsync'd and renamed over the old one with its meta file. Resolves when done; concurrent calls
   * share one save. `beforeWrite` is told the expected size first and may refuse (throw) the save.
   */
  saveInBackground(file: string, beforeWrite?: (bytes: number) => void): Promise<void> {
    if (this.saving) return this.saving;
    // hnswlib writes each element's vector, level-0 links and label, plus upper levels (few).
    beforeWrite?.(this.indexed.size * (this.dimension * 4 + this.settings.m * 2 * 4 + 64) + 64 * 1024);
    this.changed = false;
    const ids = [...this.indexed];
    const tmp = `${file}.tmp-${process.pid}`;
    this.saving = (async () => {
      try {
        await fs.promises.mkdir(path.dirname(file), { recursive: true });
        await this.index.writeIndex(tmp);
        const fh = await fs.promises.open(tmp, 'r+');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
        this.commitSave(file, tmp, ids);
      } catch (err) {
        this.changed = true; // not saved: the next save tries again
        await fs.promises.rm(tmp, { force: true }); // a partial file must not hold disk space
        throw err;
      }
    })().finally(() => {
      this.saving = undefined;
      this.applyHeld();
    });
    return this.saving;
  }

  private commitSave(file: string, tmp: string, ids: number[]): void {
    const meta: IndexMeta = { version: 1, model: this.model, dimension: this.dimension, ids };
    const metaTmp = `${file}.meta.json.tmp-${process.pid}`;
    fs.writeFileSync(metaTmp, JSON.stringify(meta));
    fsyncFile(metaTmp);
    // The index goes first: a crash between the renames leaves meta naming ids the index may not
    // hold, which load() rejects; ids the store has but the index lacks are re-added on start.
    fs.renameSync(tmp, file);
    fs.renameSync(metaTmp, `${file}.meta.json`);
    fsyncDir(path.dirname(file));
  }

  private applyHeld(): void {
    if (this.heldAdds.size === 0 && this.heldRemoves.size === 0) return;
    for (const id of this.heldRemoves) this.removeNow(id);
    for (const [id, v] of this.heldAdds) this.addNow(id, v);
    this.heldRemoves.clear();
    this.heldAdds.clear();
  }

  private addNow(id: number, vector: Float32Array): void {
    if (this.indexed.has(id)) this.removeNow(id);
    if (this.index.getCurrentCount() >= this.index.getMaxElements()) {
      // A loaded index has room for exactly what it held (possibly nothing), so grow from a floor.
      this.index.resizeIndex(Math.max(INITIAL_CAPACITY, this.index.getMaxElements() * 2));
    }
    this.index.addPoint(Array.from(vector), id, true);
    this.indexed.add(id);
    this.changed = true;
  }

  private removeNow(id: number): void {
    if (!this.indexed.delete(id)) return;
    this.index.markDelete(id);
    this.changed = true;
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

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
