import type { WindowUsage } from './limit-store.js';

/** OpenAI's reset format: "20ms", "1.5s", "6m0s". */
export function formatResetDuration(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole < 1000) return `${whole}ms`;
  if (whole < 60_000) return `${Number((whole / 1000).toFixed(3))}s`;
  const minutes = Math.floor(whole / 60_000);
  return `${minutes}m${Number(((whole - minutes * 60_000) / 1000).toFixed(3))}s`;
}

/** `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` as OpenAI sends them. */
export function rateLimitHeaders(windows: { requests?: WindowUsage; tokens?: WindowUsage }): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [name, w] of Object.entries(windows) as Array<[string, WindowUsage | undefined]>) {
    if (!w) continue;
    h[`x-ratelimit-limit-${name}`] = String(w.limit);
    h[`x-ratelimit-remaining-${name}`] = String(Math.max(0, w.limit - w.used));
    h[`x-ratelimit-reset-${name}`] = formatResetDuration(w.resetMs);
  }
  return h;
}

/** Retry-After in whole seconds (at least 1), plus the milliseconds the OpenAI SDKs read first. */
export function retryAfterHeaders(ms: number): Record<string, string> {
  const wait = Math.max(0, Math.ceil(ms));
  return { 'retry-after': String(Math.max(1, Math.ceil(wait / 1000))), 'retry-after-ms': String(wait) };
}
