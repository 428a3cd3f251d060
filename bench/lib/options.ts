/** Bench settings from the environment: BENCH_QUICK=1 (~1 minute), BENCH_FULL=1 (adds 1M entries). */
import type { SimUpstreamOptions } from './sim-upstream.js';

export type Part = 'quality' | 'bound' | 'latency' | 'throughput' | 'perf' | 'index' | 'scopes' | 'memory' | 'guardrails';
export const ALL_PARTS: Part[] = ['quality', 'bound', 'latency', 'throughput', 'perf', 'index', 'scopes', 'memory', 'guardrails'];

export interface BenchOptions {
  mode: 'quick' | 'default' | 'full';
  seed: number;
  parts: Part[];
  /** The model named in requests; prices and token counts follow it. */
  pricingModel: string;
  quality: { pairs: number; unseen: number; httpRequests: number; upstream: SimUpstreamOptions };
  latency: { rounds: number; upstreamMs: number };
  throughput: { durationSec: number; concurrency: number[]; upstreamMs: number };
  /** The gateway against a bare proxy and a fixed-JSON server, as ratios (BENCH_PERF_SECONDS per cell). */
  perf: { durationSec: number; sequentialRounds: number; missConnections: number; hitConnections: number; upstreamMs: number };
  index: { sizes: number[]; extraDimension: number; queries: number; efSweep: number[] };
  /** Scope-filtered vs scope-partitioned search as scopes multiply. */
  scopes: { entries: number; scopeCounts: number[]; queries: number };
  /** Entries the memory/restart part fills through the store API. */
  memory: { entries: number };
  /** Static thresholds vs error-bound mode: requests per traffic stream, CACHE_VERIFY_MAX_RATE. */
  bound: { requests: number; verifyMaxRate: number };
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  return ['1', 'true', 'yes', 'on'].includes((env[name] ?? '').toLowerCase());
}

export function benchOptions(env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const quick = flag(env, 'BENCH_QUICK');
  const full = flag(env, 'BENCH_FULL');
  const seed = Number(env.BENCH_SEED ?? 42);
  const parts = (env.BENCH_PARTS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s): s is Part => (ALL_PARTS as string[]).includes(s));
  const upstreamMs = Number(env.BENCH_UPSTREAM_MS ?? 50);
  return {
    mode: quick ? 'quick' : full ? 'full' : 'default',
    seed: Number.isFinite(seed) ? seed : 42,
    parts: parts.length ? parts : ALL_PARTS,
    pricingModel: env.BENCH_MODEL?.trim() || 'gpt-4o',
    quality: {
      pairs: quick ? 150 : 1000,
      unseen: quick ? 200 : 1500,
      httpRequests: quick ? 30 : 300,
      upstream: { latencyMs: { min: 300, max: 800 }, seed },
    },
    latency: { rounds: quick ? 40 : 300, upstreamMs },
    throughput: { durationSec: quick ? 2 : 5, concurrency: [1, 8, 32], upstreamMs },
    perf: {
      durationSec: Number(env.BENCH_PERF_SECONDS ?? (quick ? 3 : 8)),
      sequentialRounds: quick ? 100 : 400,
      missConnections: 64,
      hitConnections: 32,
      upstreamMs,
    },
    index: {
      sizes: quick ? [10_000] : full ? [10_000, 100_000, 1_000_000] : [10_000, 100_000],
      extraDimension: 384,
      queries: quick ? 100 : 200,
      efSweep: [16, 32, 64, 128, 256],
    },
    scopes: { entries: quick ? 10_000 : 50_000, scopeCounts: [1, 100, 1_000, 10_000], queries: quick ? 200 : 500 },
    memory: { entries: quick ? 5_000 : 100_000 },
    bound: { requests: Number(env.BENCH_BOUND_REQUESTS ?? (quick ? 400 : 2500)), verifyMaxRate: 0.2 },
  };
}
