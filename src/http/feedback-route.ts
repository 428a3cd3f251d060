import { timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Logger } from 'winston';
import { z } from 'zod';
import type { FeedbackOutcome, SemanticCache } from '../cache/semantic-cache.js';
import type { RequestPolicy } from '../policy/request-policy.js';
import { ApiError, sendError } from './errors.js';
import { accountHeaders, scopedTenant } from './tenant.js';

const FeedbackBody = z.object({
  request_id: z.string().regex(/^[\w.:-]{1,128}$/, 'request_id must be the x-request-id of a chat answer (1-128 of letters, digits, _ . : -)'),
  correct: z.boolean(),
});

export interface FeedbackDeps {
  cache: SemanticCache;
  policy: RequestPolicy;
  logger: Logger;
  adminApiKey?: string;
  onFeedback?: (outcome: Extract<FeedbackOutcome, { found: true }>, correct: boolean) => void;
}

function isAdmin(authorization: string | undefined, adminKey: string | undefined): boolean {
  if (!adminKey) return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(adminKey);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * POST /v1/cache/feedback {"request_id", "correct"}: a client says whether the cached answer it
 * got (by the x-request-id of that response) was right. The caller must be the client that got
 * it (the same credential and OpenAI-Organization/-Project) or the admin. `correct: false` is a
 * negative label for the entry that answered (see SemanticCache.feedback); every call is logged.
 */
export function createFeedbackHandler(deps: FeedbackDeps) {
  return async function feedbackHandler(req: Request, res: Response): Promise<void> {
    try {
      const parsed = FeedbackBody.safeParse(req.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new ApiError(400, `invalid feedback: ${issue.path.join('.') || 'body'}: ${issue.message}; send {"request_id": "<x-request-id>", "correct": false}`, 'invalid_request_error', 'invalid_value', issue.path.join('.') || null);
      }
      const { request_id: requestId, correct } = parsed.data;
      const authorization = req.header('authorization');
      const admin = isAdmin(authorization, deps.adminApiKey);
      let tenant: string | undefined;
      if (!admin) {
        const caller = await deps.policy.identify(authorization);
        tenant = scopedTenant(caller.tenant, accountHeaders((name) => req.header(name)));
      }
      const outcome = await deps.cache.feedback(requestId, tenant, correct);
      if (!outcome.found) {
        deps.logger.info('cache feedback for an unknown answer', { event: 'cache_feedback', requestId, correct, by: admin ? 'admin' : 'client', found: false });
        throw new ApiError(
          404,
          'no cached answer with this request_id for this caller in the last 24 hours (misses and verification calls are fresh answers; a request takes one feedback)',
          'invalid_request_error',
          'answer_not_found',
          'request_id',
        );
      }
      deps.logger.info('cache feedback', {
        event: 'cache_feedback',
        requestId,
        correct,
        by: admin ? 'admin' : 'client',
        entry: outcome.served.entryId,
        namespace: outcome.served.namespace,
        similarity: outcome.served.similarity,
        negativeFeedback: outcome.negativeFeedback,
        entryRetired: outcome.entryRetired,
      });
      deps.onFeedback?.(outcome, correct);
      res.json({ request_id: requestId, correct, recorded: !correct, entry_retired: outcome.entryRetired });
    } catch (err) {
      if (err instanceof ApiError) return sendError(res, err);
      deps.logger.error('cache feedback failed', { error: (err as Error).message });
      sendError(res, new ApiError(500, 'cache feedback could not be recorded', 'server_error', 'internal_error'));
    }
  };
}
