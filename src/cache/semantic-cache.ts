import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Keyv } from 'keyv';
import type { Logger } from 'winston';
import type { Embedder } from '../embedding/embedder.js';
import type { ChatCompletion } from '../providers/types.js';
import type { KvStores } from '../store/kv.js';
import fs from 'node:fs';
import type { HnswSettings } from '../vector-index/hnsw-index.js';
import { ScopedIndex } from '../vector-index/scoped-index.js';
import type { CacheDirectives } from './cache-control.js';
import type { Guard } from './guard.js';
import { hybridSimilarity, type HybridWeights } from './hybrid-score.js';
import type { CacheKeys } from './request-key.js';

export interface CacheEntry {
  id: number;
  scope: string;
  exactKey: string;
  tenant: string;
  namespace: string;
  model: string;
  /** The embedded text (last user turn), kept for the guard and for re-embedding on a model change. */
  text?: string;
  /** base64 of the Float32Array embedding, so a lost index is rebuilt without re-embedding. */
  vector?: string;
  embedModel?: string;
  response: ChatCompletion;
  createdAt: number;
  /** At store time; live counts are kept apart in the `hits` namespace (see HitStats). */
  lastHitAt: number;
  hits: number;
  /** Epoch ms after which the entry is dead; undefined: never. */
  expiresAt?: number;
}

export type LookupStatus = 'hit' | 'semantic-hit' | 'miss';

export interface GuardRejection {
  id: number;
  similarity: number;
  reason: string;
}

export interface LookupResult {
  status: LookupStatus;
  entry?: CacheEntry;
  similarity?: number;
  /** The embedding of the request's text, reused when the answer is stored. */
  vector?: Float32Array;
  /** The nearest in-scope similarity seen, hit or not (for logs and threshold tuning). */
  nearestSimilarity?: number;
  guardRejections: GuardRejection[];
  embedMs: number;
  searchMs: number;
}

export interface SemanticCacheOptions {
  kv: KvStores;
  embedder: Embedder;
  guard?: Guard;
  logger: Logger;
  dataDir: string;
  defaultThreshold: number;
  /**
   * What the threshold is compared with: the embedding cosine, or (for models calibrated that way,
   * see models/<name>/gateway.json) the cosine blended with char-3-gram overlap of the two texts.
   */
  scoring: { kind: 'cosine' } | { kind: 'hybrid'; weights: HybridWeights };
  ttlSeconds: number;
  maxEntries: number;
  hnsw: HnswSettings;
  /** Scopes up to this many entries are searched exactly; larger ones get their own HNSW index. */
  flatScopeLimit?: number;
  now?: () => number;
}

/** Hit counters live apart from the (large) entry, so a hit writes a few bytes, not the answer again. */
interface HitStats {
  hits: number;
  lastHitAt: number;
}

interface EntryMeta {
  scope: string;
  namespace: string;
  createdAt: number;
  expiresAt?: number;
  hits: number;
  /** The embedded text, in memory so candidates are rescored without reading the store. */
  text?: string;
}

/** How many in-scope neighbours are checked against threshold and guard before giving up. */
const CANDIDATES = 5;
const SAVE_DELAY_MS = 2000;
const SWEEP_INTERVAL_MS = 60_000;

/**
 * The two-tier cache: an exact tier (hash of scope + normalized last user turn) and a semantic
 * tier (embedding of the last user turn, HNSW nearest neighbour within the same scope, accepted
 * when similarity >= threshold and the guard agrees). The keyv store is the source of truth; the
 * HNSW index is derived from it and rebuilt or reconciled on start.
 */
export class SemanticCache {
  private readonly entries: Keyv<CacheEntry>;
  private readonly exact: Keyv<number>;
  private readonly hitStats: Keyv<HitStats>;
  /** In-memory view of live entries in least-recently-used-first order (Map keeps insertion order). */
  private readonly meta = new Map<number, EntryMeta>();
  private index!: ScopedIndex;
  /** One folder per embedding model: the HNSW indexes of large scopes (small ones are rebuilt from the store). */
  private readonly indexDir: string;
  private readonly legacyIndexFile: string;
  private saveTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly instanceId = randomUUID();

  private constructor(private readonly opts: SemanticCacheOptions) {
    this.entries = opts.kv.open<CacheEntry>('entries');
    this.exact = opts.kv.open<number>('exact');
    this.hitStats = opts.kv.open<HitStats>('hits');
    const modelName = opts.embedder.name.replace(/[^\w.-]+/g, '_');
    this.indexDir = path.join(opts.dataDir, `index-${modelName}`);
    this.legacyIndexFile = path.join(opts.dataDir, `index-${modelName}.hnsw`);
    this.now = opts.now ?? Date.now;
  }

  static async open(opts: SemanticCacheOptions): Promise<SemanticCache> {
    const cache = new SemanticCache(opts);
    await cache.start();
    return cache;
  }

  get defaultThreshold(): number {
    return this.opts.defaultThreshold;
  }

  get size(): number {
    return this.meta.size;
  }

  get indexSize(): number {
    return this.index.size;
  }

  async lookup(keys: CacheKeys, directives: CacheDirectives): Promise<LookupResult> {
    const result: LookupResult = { status: 'miss', guardRejections: [], embedMs: 0, searchMs: 0 };
    const now = this.now();
    const fresh = (e: { createdAt: number; expiresAt?: number }) =>
      (e.expiresAt === undefined || e.expiresAt > now) &&
      (directives.maxAgeSeconds === undefined || now - e.createdAt <= directives.maxAgeSeconds * 1000);

    const exactId = await this.exact.get(keys.exactKey);
    if (exactId !== undefined) {
      const entry = await this.entries.get(String(exactId));
      if (entry && entry.exactKey === keys.exactKey && fresh(entry)) {
        this.touch(entry);
        return { ...result, status: 'hit', entry, similarity: 1 };
      }
    }
    if (keys.semanticText === undefined) return result;

    const t0 = performance.now();
    const [vector] = await this.opts.embedder.embed([keys.semanticText]);
    const t1 = performance.now();
    result.vector = vector;
    result.embedMs = t1 - t0;
    // The index is partitioned by scope, so candidates are in scope by construction; the callback
    // (a native-to-JS call per candidate) is only needed when entries can be stale.
    const mayBeStale = this.opts.ttlSeconds > 0 || directives.maxAgeSeconds !== undefined;
    const live = (id: number) => {
      const m = this.meta.get(id);
      return m !== undefined && fresh(m);
    };
    const neighbors = this.index.search(keys.scope, vector!, CANDIDATES, mayBeStale ? live : undefined).map((n) => ({ ...n, similarity: this.score(n.id, n.similarity, keys.semanticText!) }));
    neighbors.sort((a, b) => b.similarity - a.similarity);
    result.searchMs = performance.now() - t1;
    result.nearestSimilarity = neighbors[0]?.similarity;
    const threshold = directives.threshold ?? this.opts.defaultThreshold;
    for (const n of neighbors) {
      if (n.similarity < threshold) break;
      const entry = await this.entries.get(String(n.id));
      if (!entry || !fresh(entry)) continue;
      if (this.opts.guard && entry.text !== undefined) {
        const verdict = this.opts.guard.agrees(entry.text, keys.semanticText);
        if (!verdict.ok) {
          result.guardRejections.push({ id: n.id, similarity: n.similarity, reason: verdict.reason ?? 'rejected' });
          continue;
        }
      }
      this.touch(entry);
      return { ...result, status: 'semantic-hit', entry, similarity: n.similarity };
    }
    return result;
  }

  async store(
    keys: CacheKeys,
    owner: { tenant: string; namespace: string; model: string },
    response: ChatCompletion,
    vector?: Float32Array,
  ): Promise<CacheEntry> {
    if (keys.semanticText !== undefined && vector === undefined) {
      [vector] = await this.opts.embedder.embed([keys.semanticText]);
    }
    const now = this.now();
    const previous = await this.exact.get(keys.exactKey);
    if (previous !== undefined) await this.removeById(previous);
    const entry: CacheEntry = {
      id: await this.newId(),
      scope: keys.scope,
      exactKey: keys.exactKey,
      tenant: owner.tenant,
      namespace: owner.namespace,
      model: owner.model,
      text: keys.semanticText,
      vector: vector ? encodeVector(vector) : undefined,
      embedModel: vector ? this.opts.embedder.name : undefined,
      response,
      createdAt: now,
      lastHitAt: now,
      hits: 0,
      expiresAt: this.opts.ttlSeconds > 0 ? now + this.opts.ttlSeconds * 1000 : undefined,
    };
    // Entry first, then the exact pointer: a crash in between leaves an unreferenced entry (found
    // and indexed on start), never a pointer to nothing.
    // keyv answers false when the backend refused the write (full disk, store down): the entry is
    // then not cached, and the caller logs it (the backend has marked the store degraded).
    if (!(await this.entries.set(String(entry.id), entry))) throw new Error('the store refused the cache entry');
    if (!(await this.exact.set(keys.exactKey, entry.id))) {
      await this.entries.delete(String(entry.id));
      throw new Error('the store refused the exact-match pointer');
    }
    this.track(entry, vector);
    this.tellPeers('add', entry.id);
    while (this.meta.size > this.opts.maxEntries) {
      const oldest = this.meta.keys().next().value as number;
      await this.removeById(oldest);
    }
    return entry;
  }

  /**
   * Deletes every entry, or those of one namespace, as the store has them (with Redis, entries of
   * other gateway processes too). Never keyv's clear(): the embedded store is shared with totals,
   * keys and limits. Returns how many went.
   */
  async purge(namespace?: string): Promise<number> {
    const ids: number[] = [];
    for await (const [, e] of this.opts.kv.iterate<CacheEntry>('entries')) {
      if (e && (namespace === undefined || e.namespace === namespace)) ids.push(e.id);
    }
    for (const id of ids) await this.removeById(id);
    this.saveIndex();
    return ids.length;
  }

  /** Removes expired entries from store and index. */
  async sweep(): Promise<number> {
    const now = this.now();
    const dead = [...this.meta.entries()].filter(([, m]) => m.expiresAt !== undefined && m.expiresAt <= now).map(([id]) => id);
    for (const id of dead) await this.removeById(id);
    return dead.length;
  }

  private score(id: number, cosine: number, text: string): number {
    const stored = this.meta.get(id)?.text;
    if (this.opts.scoring.kind === 'cosine' || stored === undefined) return cosine;
    return hybridSimilarity(cosine, stored, text, this.opts.scoring.weights);
  }

  saveIndex(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.index.save(this.indexDir);
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.saveIndex();
  }

  private async start(): Promise<void> {
    const { embedder, logger } = this.opts;
    const indexOptions = { dimension: embedder.dimension, model: embedder.name, hnsw: this.opts.hnsw, flatLimit: this.opts.flatScopeLimit ?? 512 };
    const loaded = fs.existsSync(path.join(this.indexDir, 'meta.json'));
    this.index = ScopedIndex.load(this.indexDir, indexOptions);
    // The single global index of earlier versions is derived data: entries keep their vectors.
    for (const f of [this.legacyIndexFile, `${this.legacyIndexFile}.meta.json`]) fs.rmSync(f, { force: true });
    const all: CacheEntry[] = [];
    for await (const [, entry] of this.opts.kv.iterate<CacheEntry>('entries')) if (entry) all.push(entry);
    const byId = new Map(all.map((e) => [e.id, e]));
    for await (const [id, h] of this.opts.kv.iterate<HitStats>('hits')) {
      const e = byId.get(Number(id));
      if (e) Object.assign(e, h);
    }
    all.sort((a, b) => a.lastHitAt - b.lastHitAt);
    let added = 0;
    const reembed: CacheEntry[] = [];
    for (const e of all) {
      this.track(e);
      if (this.index.has(e.id) || e.text === undefined) continue;
      const v = e.vector && e.embedModel === embedder.name ? decodeVector(e.vector) : undefined;
      if (v && v.length === embedder.dimension) {
        this.index.add(e.id, e.scope, v);
        added++;
      } else reembed.push(e);
    }
    for (let i = 0; i < reembed.length; i += 64) {
      const batch = reembed.slice(i, i + 64);
      const vectors = await embedder.embed(batch.map((e) => e.text!));
      for (const [j, e] of batch.entries()) {
        this.index.add(e.id, e.scope, vectors[j]!);
        e.vector = encodeVector(vectors[j]!);
        e.embedModel = embedder.name;
        await this.entries.set(String(e.id), e);
      }
    }
    let removed = 0;
    for (const id of [...this.index.ids()]) {
      if (!this.meta.has(id)) {
        this.index.remove(id);
        removed++;
      }
    }
    if (!loaded || added || removed || reembed.length) this.saveIndex();
    logger.info('cache opened', {
      event: 'cache_open',
      entries: this.meta.size,
      indexLoaded: Boolean(loaded),
      indexAdded: added,
      indexRemoved: removed,
      reembedded: reembed.length,
    });
    await this.opts.kv.broadcast?.subscribe('entries', (message) => {
      this.onPeerNotice(message).catch((err) => logger.warn('cache peer notice failed', { error: (err as Error).message }));
    });
    await this.sweep();
    this.sweepTimer = setInterval(() => {
      this.sweep().catch((err) => logger.error('cache sweep failed', { error: (err as Error).message }));
    }, SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  private touch(entry: CacheEntry): void {
    const m = this.meta.get(entry.id);
    if (m) {
      this.meta.delete(entry.id);
      this.meta.set(entry.id, m);
      m.hits += 1;
    }
    entry.hits = m?.hits ?? entry.hits + 1;
    entry.lastHitAt = this.now();
    this.hitStats
      .set(String(entry.id), { hits: entry.hits, lastHitAt: entry.lastHitAt })
      .catch((err) => this.opts.logger.warn('cache hit count not saved', { error: (err as Error).message }));
  }

  private async removeById(id: number): Promise<void> {
    const entry = await this.entries.get(String(id));
    this.untrack(id);
    await this.entries.delete(String(id));
    await this.hitStats.delete(String(id));
    if (entry && (await this.exact.get(entry.exactKey)) === id) await this.exact.delete(entry.exactKey);
    this.tellPeers('remove', id);
  }

  /**
   * Adds a stored entry to the in-memory view and the index. The index insert (the costly part
   * for a scope with its own HNSW index) runs on the next turn of the event loop, after the
   * answer that stored the entry has been written to the client.
   */
  private track(entry: CacheEntry, vector?: Float32Array): void {
    this.meta.set(entry.id, { scope: entry.scope, namespace: entry.namespace, createdAt: entry.createdAt, expiresAt: entry.expiresAt, hits: entry.hits, text: entry.text });
    if (vector) {
      setImmediate(() => {
        // Removed in the meantime: nothing to index.
        if (!this.meta.has(entry.id)) return;
        this.index.add(entry.id, entry.scope, vector);
        this.scheduleSave();
      });
    }
  }

  private untrack(id: number): void {
    this.meta.delete(id);
    if (this.index.has(id)) {
      this.index.remove(id);
      this.scheduleSave();
    }
  }

  /**
   * Several gateway processes on one Redis store each keep their own HNSW index; they tell each
   * other which entries came and went so a paraphrase finds an entry another process stored.
   */
  private tellPeers(op: 'add' | 'remove', id: number): void {
    this.opts.kv.broadcast
      ?.publish('entries', JSON.stringify({ op, id, from: this.instanceId }))
      .catch((err) => this.opts.logger.warn('cache peer notice not sent', { error: (err as Error).message }));
  }

  private async onPeerNotice(message: string): Promise<void> {
    const { op, id, from } = JSON.parse(message) as { op: 'add' | 'remove'; id: number; from: string };
    if (from === this.instanceId) return;
    if (op === 'remove') return this.untrack(id);
    const entry = await this.entries.get(String(id));
    if (!entry) return;
    const v = entry.vector && entry.embedModel === this.opts.embedder.name ? decodeVector(entry.vector) : undefined;
    this.track(entry, v && v.length === this.opts.embedder.dimension ? v : undefined);
  }

  /**
   * Random ids, checked against the store (shared stores included). Kept below 2^31: hnswlib-node
   * takes labels as uint32 but hands them back through signed 32-bit paths.
   */
  private async newId(): Promise<number> {
    for (;;) {
      const id = 1 + Math.floor(Math.random() * 0x7ffffffe);
      if (!this.meta.has(id) && !(await this.entries.has(String(id)))) return id;
    }
  }

  private scheduleSave(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      try {
        this.index.save(this.indexDir);
      } catch (err) {
        this.opts.logger.error('index save failed', { error: (err as Error).message });
      }
    }, SAVE_DELAY_MS);
    this.saveTimer.unref();
  }
}

function encodeVector(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

function decodeVector(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  const copy = new ArrayBuffer(buf.byteLength);
  new Uint8Array(copy).set(buf);
  return new Float32Array(copy);
}
