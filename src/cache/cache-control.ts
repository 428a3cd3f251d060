/** Per-request cache directives, from HTTP's own Cache-Control header plus x-cache-threshold. */
export interface CacheDirectives {
  /** Look the request up in the cache. */
  lookup: boolean;
  /** Store the fresh answer. */
  store: boolean;
  /** Accept only entries younger than this many seconds. */
  maxAgeSeconds?: number;
  /** Similarity threshold for this request, when the client overrides it. */
  threshold?: number;
  /** Error-bound mode for this request (x-cache-max-error): the wrong-answer rate accepted. */
  maxError?: number;
}

export const THRESHOLD_BOUNDS = { min: 0.5, max: 1 } as const;

export class DirectiveError extends Error {}

export function parseCacheDirectives(cacheControl: string | undefined, thresholdHeader: string | undefined, maxErrorHeader?: string): CacheDirectives {
  const d: CacheDirectives = { lookup: true, store: true };
  for (const raw of (cacheControl ?? '').split(',')) {
    const token = raw.trim().toLowerCase();
    if (!token) continue;
    if (token === 'no-store') {
      d.lookup = false;
      d.store = false;
    } else if (token === 'no-cache') {
      d.lookup = false;
    } else if (token.startsWith('max-age=')) {
      // Digits only (RFC 9111 delta-seconds): an empty value is not 0, and "1e3" or "0x10" are not numbers here.
      const value = token.slice('max-age='.length);
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(n)) throw new DirectiveError('Cache-Control max-age must be a whole number of seconds >= 0');
      d.maxAgeSeconds = n;
    }
    // Other directives (private, public, ...) do not apply to a request and are ignored, as HTTP caches do.
  }
  if (thresholdHeader !== undefined && thresholdHeader.trim() !== '') {
    const t = Number(thresholdHeader);
    if (!Number.isFinite(t)) throw new DirectiveError('x-cache-threshold must be a number between 0.5 and 1');
    d.threshold = Math.min(THRESHOLD_BOUNDS.max, Math.max(THRESHOLD_BOUNDS.min, t));
  }
  if (maxErrorHeader !== undefined && maxErrorHeader.trim() !== '') {
    // Number() takes "0x10" and "1e-2"; the header is a plain decimal.
    const v = /^\s*(0(\.\d+)?|1(\.0+)?|\.\d+)\s*$/.test(maxErrorHeader) ? Number(maxErrorHeader) : NaN;
    if (!Number.isFinite(v)) throw new DirectiveError('x-cache-max-error must be a decimal number between 0 and 1 (the share of wrong cached answers accepted)');
    d.maxError = v;
  }
  return d;
}
