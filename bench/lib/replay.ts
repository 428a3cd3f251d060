/**
 * Replays a workload through a real gateway over HTTP (real embedder, HNSW index and store)
 * against a simulated upstream, one request after another so every request sees the cache the
 * earlier ones left. Each workload gets its own gateway and upstream, so several replay at once
 * without sharing a cache, and the upstream's call count is exactly that workload's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import { startGateway } from '../../src/server.js';
import { silentLogger } from './gateway-proc.js';
import type { Decision } from './quality.js';
import { SimUpstream, sourceHashOf, textHash, type SimUpstreamOptions } from './sim-upstream.js';
import type { Workload } from './workload.js';

export interface ReplayResult {
  decisions: Decision[];
  /** Client-observed latency per request, ms. */
  latencyMs: number[];
  upstreamCalls: number;
  /** Hits whose answer id named no earlier miss (should be 0). */
  unattributed: number;
  /** Requests that did not answer 200. */
  errors: number;
}

interface Served {
  cacheStatus: string;
  completionId?: string;
  similarity?: number;
  status: number;
}

async function send(url: string, model: string, text: string, stream: boolean): Promise<Served> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: text }], stream }),
  });
  const body = await res.text();
  const served: Served = {
    status: res.status,
    cacheStatus: res.headers.get('x-cache-status') ?? 'none',
    similarity: res.headers.has('x-cache-similarity') ? Number(res.headers.get('x-cache-similarity')) : undefined,
  };
  if (res.status !== 200) return served;
  if (stream) {
    const first = body.split('\n\n').find((b) => b.startsWith('data: {'));
    served.completionId = first ? (JSON.parse(first.slice(6)) as { id?: string }).id : undefined;
  } else {
    served.completionId = (JSON.parse(body) as { id?: string }).id;
  }
  return served;
}

/** The env a bench gateway runs with: the caller's cache settings, the bench's plumbing. */
export function gatewayEnv(overrides: Record<string, string>): Record<string, string | undefined> {
  const keep = ['EMBED_MODEL', 'MODELS_DIR', 'CACHE_SIMILARITY_THRESHOLD', 'CACHE_GUARD', 'HNSW_M', 'HNSW_EF_CONSTRUCTION', 'HNSW_EF_SEARCH', 'INDEX_SCAN_MAX', 'CACHE_MAX_ENTRIES', 'CACHE_STORE_URL', 'REDACTION', 'PRICES_FILE', 'WORKERS'];
  const env: Record<string, string | undefined> = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k];
  return { ...env, ...overrides };
}

export function tempDataDir(prefix = 'semcache-bench-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function replayWorkload(
  workload: Workload,
  opts: { embedder: Embedder; modelsDir: string; upstream: SimUpstreamOptions; model: string; env?: Record<string, string>; onProgress?: (done: number) => void },
): Promise<ReplayResult> {
  const upstream = await new SimUpstream(opts.upstream).start();
  const dataDir = tempDataDir();
  const config = loadConfig(
    gatewayEnv({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      DATA_DIR: dataDir,
      MODELS_DIR: opts.modelsDir,
      CACHE_STORE_URL: 'memory://',
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_API_KEY: 'sk-bench',
      ...(opts.env ?? {}),
    }),
  );
  const gateway = await startGateway(config, { embedder: opts.embedder, logger: silentLogger() });
  const missByHash = new Map<string, number>();
  const result: ReplayResult = { decisions: [], latencyMs: [], upstreamCalls: 0, unattributed: 0, errors: 0 };
  try {
    for (const item of workload.items) {
      const t0 = performance.now();
      const served = await send(gateway.url, opts.model, item.text, item.stream);
      result.latencyMs.push(performance.now() - t0);
      if (served.status !== 200) result.errors++;
      if (served.cacheStatus === 'hit' || served.cacheStatus === 'semantic-hit') {
        const hash = sourceHashOf(served.completionId);
        const source = hash !== undefined ? missByHash.get(hash) : undefined;
        if (source === undefined) result.unattributed++;
        result.decisions.push({ status: served.cacheStatus, source, similarity: served.similarity });
      } else {
        result.decisions.push({ status: 'miss' });
        if (!missByHash.has(textHash(item.text))) missByHash.set(textHash(item.text), item.index);
      }
      opts.onProgress?.(result.decisions.length);
    }
  } finally {
    result.upstreamCalls = upstream.calls;
    await gateway.close();
    await upstream.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return result;
}
