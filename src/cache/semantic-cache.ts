import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Keyv } from 'keyv';
import type { Logger } from 'winston';
import type { Embedder } from '../embedding/embedder.js';
import type { ChatCompletion } from '../providers/types.js';
import type { KvStores } from '../store/kv.js';
import { StoreUnavailableError } from '../store/store-health.js';
import fs from 'node:fs';
import type { HnswSettings } from '../vector-index/hnsw-index.js';
import { ScopedIndex } from '../vector-index/scoped-index.js';
import { decide } from './bound/decision.js';
import { answersEquivalent, type Equivalence } from './bound/equivalence.js';
import { EvidencePool, isEvidence, withObservation, type EntryEvidence } from './bound/evidence.js';
import { VerifyBudget } from './bound/verify-budget.js';
import type { CacheDirectives } from './cache-control.js';
import type { Guard } from './guard.js';
import { hybridSimilarity, type HybridWeights } from './hybrid-score.js';
import type { CacheKeys } from './request-key.js';
import type { Verifier } from './verify/verifier.js';

export interface CacheEntry {
  id: number;
  scope: string;
  exactKey: string;
  tenant: string;
  namespace: string;
  model: string;
  /** The embedded text (last user turn), kept for the guard and for re-embedding on a model change. */
  text?: string;
  /** The model that embedded `text` (the vector itself is stored apart, see StoredMeta). */
  embedModel?: string;
  response: ChatCompletion;
  createdAt: number;
  /** At store time; live counts are kept apart in the `hits` namespace (see HitStats). */
  lastHitAt: number;
  hits: number;
  /** Epoch ms after which the entry is dead; undefined: never. */
  expiresAt?: number;
  /** The output policy (its fingerprint) the answer passed before it was stored; '' or absent: none. */
  moderatedBy?: string;
}

/** `bypass`: the store is unreachable, so the cache was not consulted (nor may it be written). */
export type LookupStatus = 'hit' | 'semantic-hit' | 'miss' | 'bypass';

export interface GuardRejection {
  id: number;
  similarity: number;
  reason: string;
}

/** A candidate error-bound mode could not vouch for: compared with the fresh answer of a verification call. */
export interface VerifyTarget {
  id: number;
  similarity: number;
  namespace: string;
  /** The cached answer, compared with the fresh one. */
  cached: ChatCompletion;
}

/** What error-bound mode decided for a lookup. */
export interface BoundOutcome {
  /** The bound applied (CACHE_MAX_ERROR_RATE or x-cache-max-error). */
  maxError: number;
  /** The upper bound on the wrong-answer probability of the candidate served or verified. */
  estimate?: number;
  /** Set when the request is a verification call: the candidates its fresh answer is compared with, best first. */
  verify?: VerifyTarget[];
  /** An uncertain candidate was left as a plain miss: CACHE_VERIFY_MAX_RATE was reached. */
  verifySkipped?: boolean;
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
  /** Error-bound mode only. */
  bound?: BoundOutcome;
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
  /**
   * The learned second stage (src/cache/verify): when given, a candidate's score is the
   * verifier's probability that both prompts ask the same question (it reads roles, numbers,
   * negation and names itself, so no separate guard runs), and the threshold applies to it.
   */
  verifier?: Verifier;
  ttlSeconds: number;
  maxEntries: number;
  hnsw: HnswSettings;
  /** Scopes up to this many entries are searched exactly; larger ones get their own HNSW index. */
  flatScopeLimit?: number;
  /**
   * Error-bound mode (src/cache/bound/): `maxErrorRate` (CACHE_MAX_ERROR_RATE; undefined: threshold
   * mode unless a request sends x-cache-max-error) and the share of lookups that may become
   * verification calls (CACHE_VERIFY_MAX_RATE).
   */
  errorBound?: { maxErrorRate?: number; verifyMaxRate: number };
  now?: () => number;
}

/** Hit counters live apart from the (large) entry, so a hit writes a few bytes, not the answer again. */
interface HitStats {
  hits: number;
  lastHitAt: number;
}

/**
 * The compact record of an entry, stored apart from its answer (namespace `entry-meta`) so a start
 * reads only these, never the answers; the vector is apart too (`vectors`), read only for entries
 * the saved index lacks.
 */
interface StoredMeta {
  id: number;
  scope: string;
  exactKey: string;
  namespace: string;
  createdAt: number;
  expiresAt?: number;
  text?: string;
  embedModel?: string;
}

/** What the cache holds in memory per entry (the answer stays on disk, see `hot`). */
interface EntryMeta {
  scope: string;
  exactKey: string;
  namespace: string;
  createdAt: number;
  expiresAt?: number;
  hits: number;
  lastHitAt: number;
  /** The embedded text, in memory so candidates are rescored without reading the store. */
  text?: string;
  /** What verification calls and feedback found (error-bound mode), as stored in `evidence`. */
  evidence?: EntryEvidence;
}

/** How many in-scope neighbours are checked against threshold and guard before giving up. */
const CANDIDATES = 5;
const SAVE_DELAY_MS = 2000;
const SWEEP_INTERVAL_MS = 60_000;
/** Hit counters are kept in memory and written in one batch this often (and on close). */
const HIT_FLUSH_MS = 5000;
/** Parsed entries (answers) of the most recently hit entries kept in memory. */
const HOT_ANSWERS = 1024;
/** How long a served answer can be given feedback (POST /v1/cache/feedback). */
const FEEDBACK_WINDOW_MS = 24 * 3600 * 1000;
/** Served answers remembered in memory for feedback (older ones are read from the store). */
const SERVED_IN_MEMORY = 10_000;
/** Negative feedback on a semantic hit retires the entry at this count (on an exact hit, at once). */
export const RETIRE_AFTER_NEGATIVE_FEEDBACK = 2;

/** Which entry answered a request, kept FEEDBACK_WINDOW_MS for feedback (keyv namespace `served`). */
export interface ServedRecord {
  entryId: number;
  similarity: number;
  /** The cache tenant of the request (feedback must come from it, or from the admin). */
  tenant: string;
  namespace: string;
  exact: boolean;
  at: number;
}

export type FeedbackOutcome =
  | { found: false }
  | { found: true; served: ServedRecord; entryRetired: boolean; negativeFeedback: number };

/** Candidates scoring more than this below the threshold-mode threshold are not worth a verification call. */
const VERIFY_FLOOR_BELOW_THRESHOLD = 0.3;
/** Uncertain candidates whose estimated wrong-answer probability is at least this are plain misses, not verified. */
const HOPELESS = 0.5;
/** The store layout this code writes; older stores are converted once on start. */
const LAYOUT_VERSION = 2;

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
  private readonly entryMeta: Keyv<StoredMeta>;
  private readonly vectors: Keyv<string>;
  private readonly layout: Keyv<number>;
  private readonly evidenceStore: Keyv<EntryEvidence>;
  private readonly servedStore: Keyv<ServedRecord>;
  /** Recently served answers by request id (bounded), and those not yet written to the store. */
  private readonly served = new Map<string, ServedRecord>();
  private readonly unsavedServed = new Set<string>();
  /** Pooled evidence per namespace (derived from the entries' evidence). */
  private readonly pools = new Map<string, EvidencePool>();
  private readonly verifyBudget: VerifyBudget;
  /** In-memory view of live entries in least-recently-used-first order (Map keeps insertion order). */
  private readonly meta = new Map<number, EntryMeta>();
  /** Most recently hit parsed entries, least recent first (bounded by HOT_ANSWERS). */
  private readonly hot = new Map<number, CacheEntry>();
  /** Entries hit since the last flush of the counters. */
  private readonly dirtyHits = new Set<number>();
  /** One string per distinct scope, shared by the entries of that scope. */
  private readonly scopes = new Map<string, string>();
  private hitFlushTimer: NodeJS.Timeout | undefined;
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
    this.entryMeta = opts.kv.open<StoredMeta>('entry-meta');
    this.vectors = opts.kv.open<string>('vectors');
    this.layout = opts.kv.open<number>('cache-layout');
    this.evidenceStore = opts.kv.open<EntryEvidence>('evidence');
    this.servedStore = opts.kv.open<ServedRecord>('served');
    this.verifyBudget = new VerifyBudget(opts.errorBound?.verifyMaxRate ?? 0);
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

  /**
   * False while the store is unreachable (Redis down or stalled). The cache is then bypassed
   * entirely: no lookup (not even of the answers held in memory: the store is the source of truth,
   * and a purge or an expiry made elsewhere meanwhile must not be undone by serving from memory),
   * no store.
   */
  get available(): boolean {
    return !this.opts.kv.health.unreachable;
  }

  async lookup(keys: CacheKeys, directives: CacheDirectives): Promise<LookupResult> {
    const result: LookupResult = { status: 'miss', guardRejections: [], embedMs: 0, searchMs: 0 };
    const bypass = (): LookupResult => ({ ...result, status: 'bypass' });
    if (!this.available) return bypass();
    const now = this.now();
    const fresh = (e: { createdAt: number; expiresAt?: number }) =>
      (e.expiresAt === undefined || e.expiresAt > now) &&
      (directives.maxAgeSeconds === undefined || now - e.createdAt <= directives.maxAgeSeconds * 1000);

    const maxError = directives.maxError ?? this.opts.errorBound?.maxErrorRate;
    if (maxError !== undefined) this.verifyBudget.tick();
    // keyv answers undefined for a read that failed; a failure that made the store unreachable
    // is seen after each read, and the lookup becomes a bypass rather than a miss.
    const exactId = await this.exact.get(keys.exactKey);
    if (!this.available) return bypass();
    if (exactId !== undefined) {
      const entry = await this.answer(exactId);
      if (!this.available) return bypass();
      if (entry && entry.exactKey === keys.exactKey && fresh(entry)) {
        this.touch(entry);
        // In error-bound mode an exact hit is a lookup of that mode too (stats count it per namespace).
        return { ...result, status: 'hit', entry, similarity: 1, ...(maxError !== undefined ? { bound: { maxError } } : {}) };
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
    const threshold = directives.threshold ?? this.opts.defaultThreshold;
    const neighbors = this.index.search(keys.scope, vector!, CANDIDATES, mayBeStale ? live : undefined).map((n) => {
      const { score, reason } = this.score(n.id, n.similarity, keys.semanticText!);
      if (reason && score < threshold) result.guardRejections.push({ id: n.id, similarity: score, reason });
      return { ...n, similarity: score };
    });
    neighbors.sort((a, b) => b.similarity - a.similarity);
    result.searchMs = performance.now() - t1;
    result.nearestSimilarity = neighbors[0]?.similarity;
    if (maxError !== undefined) {
      const bounded = await this.boundLookup(result, neighbors, keys.semanticText, maxError, fresh);
      return this.available ? bounded : bypass();
    }
    for (const n of neighbors) {
      if (n.similarity < threshold) break;
      const entry = await this.answer(n.id);
      if (!this.available) return bypass();
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

  /**
   * Error-bound mode: the first candidate (best score first) whose evidence shows a wrong-answer
   * probability within the bound is served; else the best candidate above the floor is verified
   * (the request goes upstream, recordVerification compares the answers) while the verification
   * budget lasts, and is a plain miss beyond it.
   */
  private async boundLookup(
    result: LookupResult,
    neighbors: Array<{ id: number; similarity: number }>,
    text: string,
    maxError: number,
    fresh: (e: { createdAt: number; expiresAt?: number }) => boolean,
  ): Promise<LookupResult> {
    const floor = this.verifyFloor;
    const bound: BoundOutcome = { maxError };
    result.bound = bound;
    const uncertain: Array<{ id: number; similarity: number; namespace: string; estimate: number }> = [];
    for (const n of neighbors) {
      if (n.similarity < floor) break;
      const m = this.meta.get(n.id);
      if (!m) continue;
      if (this.opts.guard && m.text !== undefined) {
        const verdict = this.opts.guard.agrees(m.text, text);
        if (!verdict.ok) {
          result.guardRejections.push({ id: n.id, similarity: n.similarity, reason: verdict.reason ?? 'rejected' });
          continue;
        }
      }
      const d = decide(n.similarity, maxError, m.evidence, this.pools.get(m.namespace), floor);
      if (!d.serve) {
        // Worth a comparison only while a wrong answer is not the likely outcome.
        if (d.mean < HOPELESS) uncertain.push({ id: n.id, similarity: n.similarity, namespace: m.namespace, estimate: d.estimate });
        continue;
      }
      const entry = await this.answer(n.id);
      if (!entry || !fresh(entry)) continue;
      this.touch(entry);
      bound.estimate = d.estimate;
      return { ...result, status: 'semantic-hit', entry, similarity: n.similarity };
    }
    if (uncertain.length > 0) {
      bound.estimate = uncertain[0]!.estimate;
      if (this.verifyBudget.take()) {
        // One upstream call answers for every uncertain candidate: each is compared with it.
        const targets: VerifyTarget[] = [];
        for (const u of uncertain) {
          const entry = await this.answer(u.id);
          if (entry) targets.push({ id: u.id, similarity: u.similarity, namespace: u.namespace, cached: entry.response });
        }
        if (targets.length) bound.verify = targets;
      } else bound.verifySkipped = true;
    }
    return result;
  }

  /** Scores below this are never verified (nor served) in error-bound mode. */
  get verifyFloor(): number {
    return Math.max(0, this.opts.defaultThreshold - VERIFY_FLOOR_BELOW_THRESHOLD);
  }

  /** Verification calls granted and refused by CACHE_VERIFY_MAX_RATE, of error-bound lookups, in this process. */
  get verifyCounts(): { lookups: number; granted: number; refused: number } {
    const b = this.verifyBudget;
    return { lookups: b.lookups, granted: b.granted, refused: b.refused };
  }

  /**
   * A verification call's outcome: compares the fresh answer with the cached one and records it
   * as evidence for the entry (stored with it, so restarts and other gateway processes see it).
   */
  async recordVerification(targets: VerifyTarget[], fresh: ChatCompletion): Promise<Equivalence[]> {
    const out: Equivalence[] = [];
    for (const [i, t] of targets.entries()) {
      const eq = await answersEquivalent(t.cached, fresh, this.opts.embedder);
      await this.observe(t.id, t.similarity, !eq.equivalent, false, i === 0);
      out.push(eq);
    }
    return out;
  }

  /** The evidence an entry carries (undefined: none, or no such entry). */
  evidenceOf(id: number): EntryEvidence | undefined {
    return this.meta.get(id)?.evidence;
  }

  /** A namespace's pooled evidence: observations and wrong ones (in this process's view). */
  poolOf(namespace: string): { observations: number; wrong: number } {
    const p = this.pools.get(namespace);
    return { observations: p?.total ?? 0, wrong: p?.totalWrong ?? 0 };
  }

  /**
   * Remembers which entry answered a request, so its client (or the admin) can say the answer was
   * wrong. Written to the store with the batched hit counters, so another gateway process on a
   * shared store takes the feedback too.
   */
  noteServed(requestId: string, record: Omit<ServedRecord, 'at'>): void {
    this.served.delete(requestId);
    this.served.set(requestId, { ...record, at: this.now() });
    this.unsavedServed.add(requestId);
    if (this.served.size > SERVED_IN_MEMORY) {
      const oldest = this.served.keys().next().value as string;
      this.served.delete(oldest);
      this.unsavedServed.delete(oldest);
    }
  }

  /**
   * Feedback on a served answer. Only negative labels change anything (so feedback can only make
   * the cache stricter): a wrong observation at the served score, and the entry retired (deleted)
   * when the answer was an exact hit (wrong for its own question) or at the
   * RETIRE_AFTER_NEGATIVE_FEEDBACK-th negative label. `tenant` undefined: the admin (any request).
   * A request takes one feedback.
   */
  async feedback(requestId: string, tenant: string | undefined, correct: boolean): Promise<FeedbackOutcome> {
    let served: ServedRecord | undefined = this.served.get(requestId);
    if (!served) {
      const stored = await this.servedStore.get(requestId);
      if (stored && typeof stored.entryId === 'number') served = stored;
    }
    if (!served || this.now() - served.at > FEEDBACK_WINDOW_MS || (tenant !== undefined && served.tenant !== tenant)) return { found: false };
    this.served.delete(requestId);
    this.unsavedServed.delete(requestId);
    await this.servedStore.delete(requestId);
    const m = this.meta.get(served.entryId);
    if (correct || !m) return { found: true, served, entryRetired: false, negativeFeedback: m?.evidence?.negativeFeedback ?? 0 };
    const e = await this.observe(served.entryId, served.similarity, true, true);
    const negative = e?.negativeFeedback ?? 0;
    const retire = served.exact || negative >= RETIRE_AFTER_NEGATIVE_FEEDBACK;
    if (retire) await this.removeById(served.entryId);
    return { found: true, served, entryRetired: retire, negativeFeedback: negative };
  }

  /** Whether an entry is still cached. */
  has(id: number): boolean {
    return this.meta.has(id);
  }

  /** Adds one observation to an entry's evidence, in memory and in the store, and tells peers. */
  private async observe(id: number, similarity: number, wrong: boolean, negativeFeedback = false, best = true): Promise<EntryEvidence | undefined> {
    const m = this.meta.get(id);
    if (!m) return undefined;
    // Read back first: with a shared store another process may have added observations.
    const stored = await this.evidenceStore.get(String(id));
    const base = isEvidence(stored) ? stored : m.evidence;
    const next = withObservation(base, similarity, wrong, best);
    if (negativeFeedback) next.negativeFeedback += 1;
    this.setEvidence(m, next);
    if (!(await this.evidenceStore.set(String(id), next))) throw new Error('the store refused the evidence of a cache entry');
    this.tellPeers('evidence', id);
    return next;
  }

  private setEvidence(m: EntryMeta, e: EntryEvidence | undefined): void {
    let pool = this.pools.get(m.namespace);
    if (!pool) this.pools.set(m.namespace, (pool = new EvidencePool()));
    pool.add(m.evidence, -1);
    pool.add(e, 1);
    m.evidence = e;
  }

  async store(
    keys: CacheKeys,
    owner: { tenant: string; namespace: string; model: string },
    response: ChatCompletion,
    vector?: Float32Array,
    extra: { moderatedBy?: string } = {},
  ): Promise<CacheEntry> {
    if (!this.available) throw new StoreUnavailableError('the store is unreachable: the answer is not cached');
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
      embedModel: vector ? this.opts.embedder.name : undefined,
      response,
      createdAt: now,
      lastHitAt: now,
      hits: 0,
      expiresAt: this.opts.ttlSeconds > 0 ? now + this.opts.ttlSeconds * 1000 : undefined,
      ...(extra.moderatedBy ? { moderatedBy: extra.moderatedBy } : {}),
    };
    const id = String(entry.id);
    // Issued together: the embedded store (LMDB) commits them in one transaction, all or nothing;
    // on Redis they go in this order on one connection (answer and vector, then the compact
    // record a start reads, then the exact pointer), so a crash leaves unreferenced data, never a
    // pointer to nothing. keyv answers false when the backend refused a write (full disk, store
    // down): the entry is then not cached and the caller logs it (the store is marked degraded).
    const results = await Promise.all([
      this.entries.set(id, entry),
      vector ? this.vectors.set(id, encodeVector(vector)) : true,
      this.entryMeta.set(id, storedMeta(entry)),
      this.exact.set(keys.exactKey, entry.id),
    ]);
    if (!results.every(Boolean)) {
      await this.forget(entry.id, keys.exactKey);
      throw new Error('the store refused the cache entry');
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
    for await (const [, m] of this.opts.kv.iterate<StoredMeta>('entry-meta')) {
      if (m && (namespace === undefined || m.namespace === namespace)) ids.push(m.id);
    }
    for (const id of ids) await this.removeById(id);
    this.scheduleSave();
    return ids.length;
  }

  /** Removes expired entries from store and index. */
  async sweep(): Promise<number> {
    if (!this.available) return 0; // the next sweep does it
    const now = this.now();
    const dead = [...this.meta.entries()].filter(([, m]) => m.expiresAt !== undefined && m.expiresAt <= now).map(([id]) => id);
    for (const id of dead) await this.removeById(id);
    return dead.length;
  }

  /** What the threshold is compared with for one candidate, and (verifier) why it scored low. */
  private score(id: number, cosine: number, text: string): { score: number; reason?: string } {
    const stored = this.meta.get(id)?.text;
    if (stored === undefined) return { score: cosine };
    const verifier = this.opts.verifier;
    if (verifier) {
      // Far candidates are not worth reading: none of the verifier's training positives is that far.
      if (cosine < (verifier.weights.minCosine ?? -1)) return { score: 0 };
      const v = verifier.score(cosine, stored, text);
      return { score: v.score, reason: v.reason };
    }
    if (this.opts.scoring.kind === 'cosine') return { score: cosine };
    return { score: hybridSimilarity(cosine, stored, text, this.opts.scoring.weights) };
  }

  /** Writes the index now (waiting for a background save in flight). */
  async saveIndex(): Promise<void> {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    await this.index.flush(this.indexDir);
  }

  /** Writes the batched hit counters (one store batch, not a write per hit). */
  async flushHits(): Promise<void> {
    // Kept for a later flush while the store is unreachable (writes would only time out).
    if (!this.available) return;
    await this.flushServed();
    if (this.dirtyHits.size === 0) return;
    const ids = [...this.dirtyHits];
    this.dirtyHits.clear();
    const writes = ids.map(async (id) => {
      const m = this.meta.get(id);
      if (!m) return true;
      const ok = await this.hitStats.set(String(id), { hits: m.hits, lastHitAt: m.lastHitAt });
      if (!ok) this.dirtyHits.add(id); // kept for the next flush
      return ok;
    });
    const failed = (await Promise.all(writes)).filter((ok) => !ok).length;
    if (failed) this.opts.logger.warn('cache hit counters not saved; retried at the next flush', { event: 'hits_flush_failed', entries: failed });
  }

  private async flushServed(): Promise<void> {
    if (this.unsavedServed.size === 0) return;
    const ids = [...this.unsavedServed];
    this.unsavedServed.clear();
    const results = await Promise.all(
      ids.map(async (id) => {
        const r = this.served.get(id);
        return !r || (await this.servedStore.set(id, r, FEEDBACK_WINDOW_MS));
      }),
    );
    const failed = results.filter((ok) => !ok).length;
    if (failed) this.opts.logger.warn('served-answer records not saved: feedback on them works on this process only', { event: 'served_flush_failed', records: failed });
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.hitFlushTimer) clearInterval(this.hitFlushTimer);
    await this.flushHits().catch((err) => this.opts.logger.error('cache hit counters not saved', { error: (err as Error).message }));
    await this.saveIndex().catch((err) => this.opts.logger.error('index save failed', { error: (err as Error).message }));
  }

  private async start(): Promise<void> {
    const { embedder, logger } = this.opts;
    const t0 = performance.now();
    const indexOptions = { dimension: embedder.dimension, model: embedder.name, hnsw: this.opts.hnsw, flatLimit: this.opts.flatScopeLimit ?? 512 };
    const loaded = fs.existsSync(path.join(this.indexDir, 'meta.json'));
    this.index = ScopedIndex.load(this.indexDir, indexOptions);
    // The single global index of earlier versions is derived data: entries keep their vectors.
    for (const f of [this.legacyIndexFile, `${this.legacyIndexFile}.meta.json`]) fs.rmSync(f, { force: true });
    const converted = await this.convertLayout();
    // Only the compact records are read, front to back: linear in the number of entries, and the
    // answers stay on disk.
    const all: Array<[number, EntryMeta, string | undefined]> = [];
    for await (const [, m] of this.opts.kv.iterate<StoredMeta>('entry-meta')) {
      if (m) all.push([m.id, this.compact(m), m.embedModel]);
    }
    const byId = new Map(all.map(([id, m]) => [id, m]));
    for await (const [id, h] of this.opts.kv.iterate<HitStats>('hits')) {
      const m = byId.get(Number(id));
      if (m && h) {
        m.hits = h.hits;
        m.lastHitAt = h.lastHitAt;
      }
    }
    for await (const [id, e] of this.opts.kv.iterate<EntryEvidence>('evidence')) {
      const m = byId.get(Number(id));
      if (m && isEvidence(e)) m.evidence = e;
    }
    all.sort((a, b) => a[1].lastHitAt - b[1].lastHitAt);
    let added = 0;
    const reembed: Array<[number, EntryMeta]> = [];
    for (const [id, m, embedModel] of all) {
      this.meta.set(id, m);
      if (m.evidence) {
        const e = m.evidence;
        m.evidence = undefined;
        this.setEvidence(m, e);
      }
      if (this.index.has(id) || m.text === undefined) continue;
      const b64 = embedModel === embedder.name ? await this.vectors.get(String(id)) : undefined;
      const v = b64 ? decodeVector(b64) : undefined;
      if (v && v.length === embedder.dimension) {
        this.index.add(id, m.scope, v);
        added++;
      } else reembed.push([id, m]);
    }
    for (let i = 0; i < reembed.length; i += 64) {
      const batch = reembed.slice(i, i + 64);
      const vectors = await embedder.embed(batch.map(([, m]) => m.text!));
      for (const [j, [id, m]] of batch.entries()) {
        this.index.add(id, m.scope, vectors[j]!);
        await this.vectors.set(String(id), encodeVector(vectors[j]!));
        await this.entryMeta.set(String(id), { id, ...m, embedModel: embedder.name });
      }
    }
    let removed = 0;
    for (const id of [...this.index.ids()]) {
      if (!this.meta.has(id)) {
        this.index.remove(id);
        removed++;
      }
    }
    if (!loaded || added || removed || reembed.length) await this.saveIndex();
    logger.info('cache opened', {
      event: 'cache_open',
      entries: this.meta.size,
      indexLoaded: Boolean(loaded),
      indexAdded: added,
      indexRemoved: removed,
      reembedded: reembed.length,
      convertedFromLayout1: converted,
      ms: Math.round(performance.now() - t0),
    });
    // Back from an outage: answers held in memory are read again from the store (entries purged or
    // lost meanwhile must not come back from memory).
    this.opts.kv.health.on((e) => {
      if (e.type === 'recovered' && e.op === 'connect') this.hot.clear();
    });
    await this.opts.kv.broadcast?.subscribe('entries', (message) => {
      this.onPeerNotice(message).catch((err) => logger.warn('cache peer notice failed', { error: (err as Error).message }));
    });
    await this.sweep();
    this.sweepTimer = setInterval(() => {
      this.sweep().catch((err) => logger.error('cache sweep failed', { error: (err as Error).message }));
    }, SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
    this.hitFlushTimer = setInterval(() => {
      this.flushHits().catch((err) => logger.error('cache hit counters not saved', { error: (err as Error).message }));
    }, HIT_FLUSH_MS);
    this.hitFlushTimer.unref();
  }

  /**
   * Stores of layout 1 kept the vector inside the entry and had no compact records: write those
   * once (reading every entry this one time), then mark the store converted.
   */
  private async convertLayout(): Promise<number> {
    if ((await this.layout.get('version')) === LAYOUT_VERSION) return 0;
    let n = 0;
    for await (const [, e] of this.opts.kv.iterate<CacheEntry & { vector?: string }>('entries')) {
      if (!e || typeof e.id !== 'number') continue;
      const id = String(e.id);
      if (e.vector) await this.vectors.set(id, e.vector);
      await this.entryMeta.set(id, storedMeta(e));
      n++;
    }
    if (!(await this.layout.set('version', LAYOUT_VERSION))) throw new Error('cannot record the cache layout version in the store');
    return n;
  }

  /** The entry with its answer: from the hot set, else from the store (then kept hot). */
  private async answer(id: number): Promise<CacheEntry | undefined> {
    const cached = this.hot.get(id);
    if (cached) {
      this.hot.delete(id);
      this.hot.set(id, cached);
      return cached;
    }
    const entry = await this.entries.get(String(id));
    if (!entry || !this.meta.has(id)) return entry;
    this.hot.set(id, entry);
    if (this.hot.size > HOT_ANSWERS) this.hot.delete(this.hot.keys().next().value as number);
    return entry;
  }

  /** Counts a hit in memory; flushHits() writes the counters in batches. */
  private touch(entry: CacheEntry): void {
    const m = this.meta.get(entry.id);
    const now = this.now();
    if (m) {
      this.meta.delete(entry.id);
      this.meta.set(entry.id, m);
      m.hits += 1;
      m.lastHitAt = now;
      this.dirtyHits.add(entry.id);
    }
    entry.hits = m?.hits ?? entry.hits + 1;
    entry.lastHitAt = now;
  }

  private async removeById(id: number): Promise<void> {
    const exactKey = this.meta.get(id)?.exactKey ?? (await this.entryMeta.get(String(id)))?.exactKey ?? (await this.entries.get(String(id)))?.exactKey;
    this.untrack(id);
    await this.forget(id, exactKey);
    this.tellPeers('remove', id);
  }

  /** Deletes an entry's records (one transaction on the embedded store), the compact one first. */
  private async forget(id: number, exactKey: string | undefined): Promise<void> {
    const key = String(id);
    const ownsExact = exactKey !== undefined && (await this.exact.get(exactKey)) === id;
    await Promise.all([
      this.entryMeta.delete(key),
      ownsExact ? this.exact.delete(exactKey) : true,
      this.entries.delete(key),
      this.vectors.delete(key),
      this.hitStats.delete(key),
      this.evidenceStore.delete(key),
    ]);
  }

  private compact(m: StoredMeta | CacheEntry): EntryMeta {
    let scope = this.scopes.get(m.scope);
    if (scope === undefined) {
      scope = m.scope;
      this.scopes.set(scope, scope);
    }
    const hits = 'hits' in m && typeof m.hits === 'number' ? m.hits : 0;
    const lastHitAt = 'lastHitAt' in m && typeof m.lastHitAt === 'number' ? m.lastHitAt : m.createdAt;
    return { scope, exactKey: m.exactKey, namespace: m.namespace, createdAt: m.createdAt, expiresAt: m.expiresAt, hits, lastHitAt, text: m.text };
  }

  /**
   * Adds a stored entry to the in-memory view and the index. The index insert (the costly part
   * for a scope with its own HNSW index) runs on the next turn of the event loop, after the
   * answer that stored the entry has been written to the client.
   */
  private track(entry: CacheEntry, vector?: Float32Array): void {
    this.meta.set(entry.id, this.compact(entry));
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
    const m = this.meta.get(id);
    if (m?.evidence) this.setEvidence(m, undefined);
    this.meta.delete(id);
    this.hot.delete(id);
    this.dirtyHits.delete(id);
    if (this.index.has(id)) {
      this.index.remove(id);
      this.scheduleSave();
    }
  }

  /**
   * Several gateway processes on one Redis store each keep their own HNSW index; they tell each
   * other which entries came and went so a paraphrase finds an entry another process stored.
   */
  private tellPeers(op: 'add' | 'remove' | 'evidence', id: number): void {
    this.opts.kv.broadcast
      ?.publish('entries', JSON.stringify({ op, id, from: this.instanceId }))
      .catch((err) => this.opts.logger.warn('cache peer notice not sent', { error: (err as Error).message }));
  }

  private async onPeerNotice(message: string): Promise<void> {
    const { op, id, from } = JSON.parse(message) as { op: 'add' | 'remove' | 'evidence'; id: number; from: string };
    if (from === this.instanceId) return;
    if (op === 'remove') return this.untrack(id);
    if (op === 'evidence') {
      const m = this.meta.get(id);
      const e = await this.evidenceStore.get(String(id));
      if (m && isEvidence(e)) this.setEvidence(m, e);
      return;
    }
    const m = await this.entryMeta.get(String(id));
    if (!m) return;
    const b64 = m.embedModel === this.opts.embedder.name ? await this.vectors.get(String(id)) : undefined;
    const v = b64 ? decodeVector(b64) : undefined;
    const meta = this.compact(m);
    this.meta.set(id, meta);
    const e = await this.evidenceStore.get(String(id));
    if (isEvidence(e)) this.setEvidence(meta, e);
    if (v && v.length === this.opts.embedder.dimension) {
      this.index.add(id, m.scope, v);
      this.scheduleSave();
    }
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

  /**
   * Saves the index a little after it changes, off the event loop (changed HNSW partitions are
   * written by a libuv thread); changes made during a save are saved by the next one.
   */
  private scheduleSave(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      if (!this.index.dirty) return;
      this.index
        // On the store's disk the index must not eat the space the store keeps free (DiskReserve):
        // a refused save is logged and tried again by the next one.
        .saveInBackground(this.indexDir, (bytes) => this.opts.kv.diskReserve?.admit(bytes))
        .catch((err) => this.opts.logger.error('index save failed', { error: (err as Error).message }))
        .finally(() => {
          if (this.index.dirty) this.scheduleSave();
        });
    }, SAVE_DELAY_MS);
    this.saveTimer.unref();
  }
}

function storedMeta(e: CacheEntry): StoredMeta {
  return { id: e.id, scope: e.scope, exactKey: e.exactKey, namespace: e.namespace, createdAt: e.createdAt, expiresAt: e.expiresAt, text: e.text, embedModel: e.embedModel };
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
