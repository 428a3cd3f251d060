import type { Response } from 'express';

/** Longest value the gateway puts in a header it fills from client or upstream data. */
export const MAX_ECHOED_HEADER_CHARS = 512;

/**
 * A value Node will accept in a header and clients will parse: visible ASCII and spaces only
 * (CR/LF would split the header, characters above Latin-1 make setHeader throw), capped in length.
 * Anything else becomes '?', so a header never turns an answered request into a 500.
 */
export function safeHeaderValue(value: string): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > MAX_ECHOED_HEADER_CHARS ? clean.slice(0, MAX_ECHOED_HEADER_CHARS) : clean;
}

/** Sets each header with a value made safe; for headers filled from client or upstream data. */
export function setSafeHeaders(res: Response, headers: Record<string, string>): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, safeHeaderValue(v));
}
