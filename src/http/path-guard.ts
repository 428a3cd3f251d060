import type { NextFunction, Request, Response } from 'express';
import { ApiError, sendError } from './errors.js';

/**
 * Routing matches the raw request path, while upstreams (and fetch's URL parser) resolve dot
 * segments, decode percent-escapes and fold backslashes. A path that means one thing to the
 * router and another further on would slip past the chat route (and its keys, limits, redaction
 * and cache) into the pass-through, or out of the upstream's base path. So every path that is not
 * already in its one plain form is refused with a 400 before any route sees it; nothing is
 * normalized, so there is nothing left to disagree about.
 *
 * Refused: a request target that is not origin-form (`/...`); characters RFC 3986 does not allow in
 * a path (backslash, `#`, controls, non-ASCII, ...); malformed percent-escapes; empty segments
 * (`//`, except one trailing slash); segments that are or decode to `.` or `..`; percent-escapes
 * of an unreserved character (`%2e`, `%69`: the same path to a normalizing server); escapes that
 * decode to a separator (`/`, `\`), a control character or `%` (double encoding: `%252e`).
 */

/** pchar (RFC 3986 §3.3) plus `/`: unreserved, pct-encoded, sub-delims, ':' and '@'. */
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const PCT_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
const DECODED_FORBIDDEN = /[/\\\x00-\x1f\x7f]/;
/** An escaped unreserved character is the same path as the plain one to a normalizing server. */
const ESCAPED_UNRESERVED = /%(?:2[DEde]|3[0-9]|[46][1-9A-Fa-f]|[57][0-9Aa]|5[Ff]|7[Ee])/;

/** Why a raw request target is refused, or undefined when it is in plain form. */
export function pathProblem(rawUrl: string): string | undefined {
  if (!rawUrl.startsWith('/')) return 'the request target must be a path starting with /';
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  if (!PATH_CHARS.test(path)) return 'the path contains characters not allowed in a URL path';
  if (PCT_ESCAPE.test(path)) return 'the path contains a malformed percent-escape';
  if (ESCAPED_UNRESERVED.test(path)) return 'the path percent-escapes a letter, digit or one of - . _ ~ (send it plain)';
  const segments = path.slice(1).split('/');
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (seg === '') {
      // "/" itself and one trailing slash are plain; "//" anywhere is not.
      if (i === segments.length - 1 && (i === 0 || segments[i - 1] !== '')) continue;
      return 'the path contains an empty segment (//)';
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(seg);
    } catch {
      return 'the path contains a malformed percent-escape';
    }
    if (decoded === '.' || decoded === '..') return 'the path contains a dot segment (. or ..)';
    // "%252e" is "%2e" to us and "." to an upstream that decodes twice.
    if (decoded.includes('%')) return 'the path contains an escaped percent sign (double encoding)';
    if (DECODED_FORBIDDEN.test(decoded)) return 'the path contains an encoded separator or control character';
  }
  return undefined;
}

/** Routes the gateway answers itself, which the pass-through must never serve under another spelling. */
const OWN_ROUTES = ['/v1/chat/completions'];

/**
 * Whether the pass-through must refuse a path (and method) because a lenient upstream would take
 * it for the chat route, which the gateway answers itself: matrix parameters (`;x`) stripped,
 * escapes decoded, whitespace trimmed, case and trailing slashes folded. `/v1/chat/completions;x`,
 * `.../completions%20` or `PUT /v1/chat/completions` must not reach an upstream that serves them as
 * a chat completion, skipping the gateway's policy and cache. Only OpenAI's own plain `GET` (list
 * stored completions) passes.
 */
export function disguisedOwnRoute(rawUrl: string, method = 'GET'): boolean {
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  if (OWN_ROUTES.includes(path) && (method === 'GET' || method === 'HEAD')) return false;
  const lax = (segment: string) => {
    let s = segment;
    try {
      s = decodeURIComponent(s);
    } catch {
      /* left as it is: pathProblem refuses malformed escapes */
    }
    return s.split(';')[0]!.trim().toLowerCase();
  };
  const folded = path.split('/').map(lax).join('/').replace(/\/+$/, '');
  return OWN_ROUTES.includes(folded);
}

/** Express middleware: refuses non-plain paths with a 400 in OpenAI's error shape, before routing. */
export function rejectNonCanonicalPaths(req: Request, res: Response, next: NextFunction): void {
  const problem = pathProblem(req.url);
  if (!problem) {
    next();
    return;
  }
  sendError(res, new ApiError(400, `invalid request path: ${problem}`, 'invalid_request_error', 'invalid_path'));
}

/**
 * The pass-through's upstream URL for a checked path: base + the part after /v1. Throws when the
 * result would leave the base URL's origin or path (a last line behind `pathProblem`).
 */
export function upstreamUrlFor(baseUrl: string, originalUrl: string): string {
  const url = baseUrl + originalUrl.slice('/v1'.length);
  const base = new URL(baseUrl);
  const target = new URL(url);
  const basePath = base.pathname.replace(/\/+$/, '');
  if (target.origin !== base.origin || !target.pathname.startsWith(basePath + '/')) {
    throw new ApiError(400, 'invalid request path: it leaves the upstream base path', 'invalid_request_error', 'invalid_path');
  }
  return url;
}
