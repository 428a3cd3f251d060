/**
 * Child process of the memory/restart bench part (bench/lib/part-memory.ts): one phase per run,
 * so RSS is this process's alone. Phases:
 *   fill <dir> <n> <dim> <seed>  fills n entries through SemanticCache.store (the store API, no HTTP)
 *   open <dir> <n> <dim> <seed>  opens the filled store (a restart), then answers exact lookups
 * Prints one JSON line of measurements on stdout.
 */
import winston from 'winston';
import { SemanticCache } from '../../src/cache/semantic-cache.js';
import type { CacheKeys } from '../../src/cache/request-key.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import type { ChatCompletion } from '../../src/providers/types.js';
import { openKvStores } from '../../src/store/kv.js';
import { seededRandom } from './datasets.js';

const [phase, dir, nArg, dimArg, seedArg, m, efc, efs] = process.argv.slice(2);
const n = Number(nArg);
const dimension = Number(dimArg);
const seed = Number(seedArg);

/** Vectors are given to store(); embed() is only reached by semantic lookups, which this part does not make. */
const embedder: Embedder = {
  name: 'bench-memory',
  dimension,
  embed: async () => {
    throw new Error('the memory bench passes vectors in');
  },
};

function keysOf(i: number): CacheKeys {
  const scope = `tenant-${i % 50}:default:gpt-4o`;
  return { scope, exactKey: `${scope}:${i.toString(36).padStart(8, '0')}`, semanticText: `Question number ${i}: how would you explain topic ${i % 997} to a newcomer?` };
}

function answerOf(i: number): ChatCompletion {
  const content = `Answer ${i}. `.padEnd(600, 'lorem ipsum dolor sit amet ');
  return {
    id: `chatcmpl-${i}`,
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'gpt-4o',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 20, completion_tokens: 150, total_tokens: 170 },
  } as unknown as ChatCompletion;
}

function rssMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss / 2 ** 20;
}

async function main(): Promise<void> {
  const logger = winston.createLogger({ silent: true });
  const hnsw = { m: Number(m), efConstruction: Number(efc), efSearch: Number(efs) };
  const t0 = performance.now();
  const kv = await openKvStores('file://', dir);
  const cache = await SemanticCache.open({
    kv,
    embedder,
    logger,
    dataDir: dir,
    defaultThreshold: 0.9,
    scoring: { kind: 'cosine' },
    ttlSeconds: 0,
    maxEntries: n + 1,
    hnsw,
  });
  const openSec = (performance.now() - t0) / 1000;
  const out: Record<string, number> = { openSec, entries: cache.size, indexed: cache.indexSize, rssAfterOpenMiB: rssMiB() };
  if (phase === 'fill') {
    const random = seededRandom(seed);
    const t1 = performance.now();
    const v = new Float32Array(dimension);
    for (let i = 0; i < n; i++) {
      let norm = 0;
      for (let d = 0; d < dimension; d++) {
        v[d] = random() - 0.5;
        norm += v[d]! * v[d]!;
      }
      const unit = v.map((x) => x / Math.sqrt(norm));
      await cache.store(keysOf(i), { tenant: `tenant-${i % 50}`, namespace: 'default', model: 'gpt-4o' }, answerOf(i), unit);
    }
    out.fillSec = (performance.now() - t1) / 1000;
    out.rssAfterFillMiB = rssMiB();
  } else {
    // A restart answers: exact hits over a sample (reads answers from disk, hit counters batched).
    const t1 = performance.now();
    let hits = 0;
    const sample = Math.min(n, 2000);
    for (let j = 0; j < sample; j++) {
      const i = Math.floor((j * n) / sample);
      const r = await cache.lookup(keysOf(i), { lookup: true, store: true } as never);
      if (r.status === 'hit') hits++;
    }
    out.exactLookupUs = ((performance.now() - t1) * 1000) / Math.max(1, sample);
    out.exactHits = hits;
    out.exactSample = sample;
    out.rssAfterLookupsMiB = rssMiB();
  }
  const t2 = performance.now();
  await cache.close();
  await kv.close();
  out.closeSec = (performance.now() - t2) / 1000;
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
