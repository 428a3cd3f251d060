import express from 'express';
import { z } from 'zod';
import { requireAdmin } from '../http/admin-auth.js';
import { ApiError, sendError } from '../http/errors.js';
import { GatewayKeyStore, KeyInputError } from './api-keys.js';
import { REDACTION_MODES } from './redaction.js';
import { SystemPromptPolicySchema } from './system-prompt.js';

const CreateKeyBody = z.strictObject({
  name: z.string(),
  rpm: z.number().int().positive().optional(),
  tpm: z.number().int().positive().optional(),
  concurrency: z.number().int().positive().optional(),
  daily_usd: z.number().positive().optional(),
  redaction: z.enum(REDACTION_MODES).optional(),
  system_prompt: SystemPromptPolicySchema.optional(),
});

/**
 * The key CLI's operations over HTTP, behind ADMIN_API_KEY: with the embedded store the gateway
 * holds the store's lock, so a running gateway is managed through here rather than the CLI.
 *   POST /v1/gateway/keys {name, rpm?, tpm?, concurrency?, daily_usd?, redaction?, system_prompt?: {mode, content?}}
 *     -> {key, record}
 *   GET /v1/gateway/keys -> {data: [record...]}      DELETE /v1/gateway/keys/:idOrName -> record
 */
export function mountKeyRoutes(app: express.Express, deps: { adminApiKey?: string; keys: GatewayKeyStore }): void {
  const admin = requireAdmin(deps.adminApiKey, { required: true });
  // Room for a system prompt of a few pages.
  const json = express.json({ limit: '128kb', type: () => true });
  app.post('/v1/gateway/keys', admin, json, async (req, res, next) => {
    try {
      const parsed = CreateKeyBody.safeParse(req.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new ApiError(400, `${issue.path.join('.') || 'body'}: ${issue.message}`, 'invalid_request_error', 'invalid_value');
      }
      const { name, rpm, tpm, concurrency, daily_usd, redaction, system_prompt } = parsed.data;
      const limits = Object.fromEntries(Object.entries({ rpm, tpm, concurrency, dailyUsd: daily_usd }).filter(([, v]) => v !== undefined));
      const created = await deps.keys.create({ name, limits, redaction, systemPrompt: system_prompt }).catch((err: Error) => {
        throw err instanceof KeyInputError ? new ApiError(400, err.message, 'invalid_request_error', 'invalid_value') : storeFailed(err);
      });
      res.status(201).json(created);
    } catch (err) {
      if (err instanceof ApiError) sendError(res, err);
      else next(err);
    }
  });
  app.get('/v1/gateway/keys', admin, async (_req, res, next) => {
    try {
      res.json({ object: 'list', data: await deps.keys.list().catch((err: Error) => Promise.reject(storeFailed(err))) });
    } catch (err) {
      if (err instanceof ApiError) sendError(res, err);
      else next(err);
    }
  });
  app.delete('/v1/gateway/keys/:idOrName', admin, async (req, res, next) => {
    try {
      const revoked = await deps.keys.revoke(String(req.params.idOrName)).catch((err: Error) => Promise.reject(storeFailed(err)));
      if (!revoked) sendError(res, new ApiError(404, `no active key with id or name ${String(req.params.idOrName)}`, 'invalid_request_error', 'not_found'));
      else res.json(revoked);
    } catch (err) {
      if (err instanceof ApiError) sendError(res, err);
      else next(err);
    }
  });
}

/** A key operation the store could not carry out (unreachable, full, read-only): nothing was changed or reported done. */
function storeFailed(err: Error): ApiError {
  return new ApiError(503, `the key store could not complete the operation: ${err.message}`, 'server_error', 'store_unavailable', null, { 'retry-after': '1' });
}
