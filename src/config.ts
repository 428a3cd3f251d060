import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_STORE_MIN_FREE_MB } from './store/disk-reserve.js';

/**
 * The one place that reads the environment. Everything else receives a typed `Config`.
 * Each variable is documented in the README's env table; keep the two in step.
 */


/** The shipped default embedding model (models/<name>/, built by `make model`). */
export const DEFAULT_EMBED_MODEL = 'static-glove-wordnet-en';
const bool = (dflt: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? dflt : ['true', '1', 'yes', 'on'].includes(v)));

const int = (dflt: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? String(dflt) : v.trim()))
    .pipe(z.coerce.number<string>().int().min(min).max(max));

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** An empty variable means "use the default", as for an unset one (compose files set empty values). */
const withDefault = <T extends z.ZodType<unknown, string>>(schema: T, dflt: string) =>
  optionalString.transform((v) => v ?? dflt).pipe(schema);

const EnvSchema = z.object({
  PORT: int(8080, 0, 65535),
  HOST: optionalString.transform((v) => v ?? '127.0.0.1'),
  UPSTREAM_BASE_URL: withDefault(z.string().url(), 'https://api.openai.com/v1'),
  UPSTREAM_API_KEY: optionalString,
  UPSTREAM_TIMEOUT_MS: int(120_000, 1),
  SHUTDOWN_GRACE_MS: int(30_000, 0),
  DATA_DIR: optionalString.transform((v) => v ?? 'data'),
  CACHE_STORE_URL: optionalString,
  STORE_MIN_FREE_MB: int(DEFAULT_STORE_MIN_FREE_MB, 0),
  STORE_TIMEOUT_MS: int(1000, 1, 600_000),
  STORE_CONNECT_TIMEOUT_MS: int(5000, 1, 600_000),
  CACHE_SIMILARITY_THRESHOLD: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : Number(v)))
    .pipe(z.number().min(0).max(1).optional()),
  CACHE_MAX_ERROR_RATE: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : Number(v)))
    .pipe(z.number().min(0).max(1).optional()),
  CACHE_VERIFY_MAX_RATE: withDefault(z.coerce.number<string>().min(0).max(1), '0.2'),
  CACHE_TTL_SECONDS: int(7 * 24 * 3600, 0),
  CACHE_MAX_ENTRIES: int(100_000, 1),
  CACHE_SHARE_ACROSS_TENANTS: bool(false),
  CACHE_GUARD: withDefault(z.enum(['on', 'off']), 'on'),
  CACHE_SEMANTIC_MAX_CHARS: int(4000, 1),
  EMBED_MODEL: optionalString.transform((v) => v ?? DEFAULT_EMBED_MODEL),
  MODELS_DIR: optionalString.transform((v) => v ?? 'models'),
  ALLOW_REMOTE_MODELS: bool(false),
  HNSW_M: int(16, 2, 128),
  HNSW_EF_CONSTRUCTION: int(200, 8, 2000),
  HNSW_EF_SEARCH: int(64, 1, 2000),
  INDEX_SCAN_MAX: int(512, 0, 100_000),
  MAX_BODY_BYTES: int(1024 * 1024, 1024),
  MAX_INFLIGHT: int(256, 0),
  MAX_QUEUE: int(256, 0),
  QUEUE_TIMEOUT_MS: int(10_000, 1),
  LOG_LEVEL: withDefault(z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly', 'silent']), 'info'),
  LOG_PROMPTS: bool(false),
  ADMIN_API_KEY: optionalString,
  GATEWAY_CONFIG: optionalString,
  PRICES_FILE: optionalString,
  REQUIRE_API_KEY: bool(false),
  REDACTION: withDefault(z.enum(['off', 'mask', 'block']), 'mask'),
  PROMPT_SCREENING: withDefault(z.enum(['off', 'flag', 'block']), 'off'),
  OUTPUT_MODERATION: withDefault(z.enum(['off', 'flag', 'block']), 'off'),
  MODERATION_DENY_FILE: optionalString,
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  port: number;
  host: string;
  upstream: { baseUrl: string; apiKey?: string; timeoutMs: number };
  dataDir: string;
  /** Redis store bounds: longest wait for one command, and for the first connection at start. */
  store: { timeoutMs: number; connectTimeoutMs: number };
  cache: {
    storeUrl?: string;
    /** Embedded store: writes are refused while less than this is free on its file system (0: never). */
    storeMinFreeBytes: number;
    /** undefined: use the embedding model's calibrated default (models/<name>/gateway.json). */
    similarityThreshold?: number;
    /** Error-bound mode: the wrong-answer rate accepted (undefined: threshold mode, unless a request sends x-cache-max-error). */
    maxErrorRate?: number;
    /** Share of error-bound lookups that may become verification calls. */
    verifyMaxRate: number;
    ttlSeconds: number;
    maxEntries: number;
    shareAcrossTenants: boolean;
    guard: boolean;
    /** Last user turns longer than this use the exact tier only. */
    semanticMaxChars: number;
    hnsw: { m: number; efConstruction: number; efSearch: number };
    /** Scopes with at most this many entries are searched by an exact scan; larger ones get their own HNSW index. */
    flatScopeLimit: number;
  };
  embedding: { model: string; modelsDir: string; allowRemote: boolean };
  maxBodyBytes: number;
  /** Admission control on chat, pass-through and /v1/models: in flight at once (0 = no limit), waiting, longest wait. */
  admission: { maxInflight: number; maxQueue: number; queueTimeoutMs: number };
  /** On SIGTERM, how long requests in flight may take to finish before connections are cut. */
  shutdownGraceMs: number;
  log: { level: Env['LOG_LEVEL']; prompts: boolean };
  adminApiKey?: string;
  gatewayConfigFile?: string;
  pricesFile?: string;
  requireApiKey: boolean;
  redaction: 'off' | 'mask' | 'block';
  /** Default guardrails: injection screening on requests, PII/deny checks on answers, the deny list. GATEWAY_CONFIG's `guardrails:` refines them. */
  guardrails: { promptScreening: 'off' | 'flag' | 'block'; outputModeration: 'off' | 'flag' | 'block'; denyFile?: string };
  /** Where GATEWAY_CONFIG's `api_key_env` names are looked up (the environment given to loadConfig). */
  secretsEnv: Readonly<Record<string, string | undefined>>;
}

export class ConfigError extends Error {}

/** Parse and validate the environment once. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    upstream: { baseUrl: e.UPSTREAM_BASE_URL.replace(/\/+$/, ''), apiKey: e.UPSTREAM_API_KEY, timeoutMs: e.UPSTREAM_TIMEOUT_MS },
    dataDir: path.resolve(e.DATA_DIR),
    store: { timeoutMs: e.STORE_TIMEOUT_MS, connectTimeoutMs: e.STORE_CONNECT_TIMEOUT_MS },
    cache: {
      storeUrl: e.CACHE_STORE_URL,
      storeMinFreeBytes: e.STORE_MIN_FREE_MB * 1024 * 1024,
      similarityThreshold: e.CACHE_SIMILARITY_THRESHOLD,
      maxErrorRate: e.CACHE_MAX_ERROR_RATE,
      verifyMaxRate: e.CACHE_VERIFY_MAX_RATE,
      ttlSeconds: e.CACHE_TTL_SECONDS,
      maxEntries: e.CACHE_MAX_ENTRIES,
      shareAcrossTenants: e.CACHE_SHARE_ACROSS_TENANTS,
      guard: e.CACHE_GUARD === 'on',
      semanticMaxChars: e.CACHE_SEMANTIC_MAX_CHARS,
      hnsw: { m: e.HNSW_M, efConstruction: e.HNSW_EF_CONSTRUCTION, efSearch: e.HNSW_EF_SEARCH },
      flatScopeLimit: e.INDEX_SCAN_MAX,
    },
    embedding: { model: e.EMBED_MODEL, modelsDir: path.resolve(e.MODELS_DIR), allowRemote: e.ALLOW_REMOTE_MODELS },
    maxBodyBytes: e.MAX_BODY_BYTES,
    admission: { maxInflight: e.MAX_INFLIGHT, maxQueue: e.MAX_QUEUE, queueTimeoutMs: e.QUEUE_TIMEOUT_MS },
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    log: { level: e.LOG_LEVEL, prompts: e.LOG_PROMPTS },
    adminApiKey: e.ADMIN_API_KEY,
    gatewayConfigFile: e.GATEWAY_CONFIG,
    pricesFile: e.PRICES_FILE,
    requireApiKey: e.REQUIRE_API_KEY,
    redaction: e.REDACTION,
    guardrails: { promptScreening: e.PROMPT_SCREENING, outputModeration: e.OUTPUT_MODERATION, denyFile: e.MODERATION_DENY_FILE },
    secretsEnv: env,
  };
}
