import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ApiError, sendError } from './errors.js';

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function bearer(req: Request): string | undefined {
  const h = req.header('authorization');
  return h?.toLowerCase().startsWith('bearer ') ? h.slice(7).trim() : undefined;
}

/**
 * Guards admin endpoints with ADMIN_API_KEY. `required`: refuse when no key is configured (for
 * destructive calls); otherwise an unset key leaves the endpoint open (read-only views on a local
 * gateway).
 */
export function requireAdmin(adminKey: string | undefined, opts: { required: boolean }) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!adminKey) {
      if (opts.required) {
        sendError(res, new ApiError(403, 'the admin API is disabled: set ADMIN_API_KEY to enable it', 'permission_error', 'admin_disabled'));
        return;
      }
      next();
      return;
    }
    const given = bearer(req);
    if (!given || !sameSecret(given, adminKey)) {
      sendError(res, new ApiError(401, 'admin endpoint: send Authorization: Bearer <ADMIN_API_KEY>', 'authentication_error', 'invalid_admin_key'));
      return;
    }
    next();
  };
}
