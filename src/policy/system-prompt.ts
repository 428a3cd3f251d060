import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ApiError } from '../http/errors.js';
import type { ChatRequest } from '../providers/types.js';

/**
 * What the operator says about system prompts, per gateway key or per model alias:
 * - `prepend`: the operator's system message goes first; the client's own system messages stay.
 * - `replace`: the client's system and developer messages are dropped; the operator's goes first.
 * - `forbid`:  a request carrying a system or developer message is refused (400); with `content`,
 *              that content is then the only system prompt.
 * A key's policy wins over its alias's. What is injected is part of the cache scope (through the
 * messages, and by its id), so answers given under one system prompt never serve another.
 */

export const SYSTEM_PROMPT_MODES = ['prepend', 'replace', 'forbid'] as const;
export type SystemPromptMode = (typeof SYSTEM_PROMPT_MODES)[number];

export interface SystemPromptPolicy {
  mode: SystemPromptMode;
  /** The operator's system prompt; required for prepend and replace. */
  content?: string;
}

export const SystemPromptPolicySchema = z
  .strictObject({
    mode: z.enum(SYSTEM_PROMPT_MODES, { error: `mode must be one of: ${SYSTEM_PROMPT_MODES.join(', ')}` }),
    content: z.string().min(1, 'content must not be empty').max(100_000).optional(),
  })
  .refine((p) => p.mode === 'forbid' || p.content !== undefined, { message: 'prepend and replace need content', path: ['content'] });

const isSystemRole = (role: string) => role === 'system' || role === 'developer';

export interface AppliedSystemPrompt {
  request: ChatRequest;
  /** A short id of the policy applied, for the cache scope and the log; undefined when none. */
  id?: string;
}

export function applySystemPromptPolicy(request: ChatRequest, policy: SystemPromptPolicy | undefined): AppliedSystemPrompt {
  if (!policy) return { request };
  const clientHasSystem = request.messages.some((m) => isSystemRole(m.role));
  if (policy.mode === 'forbid' && clientHasSystem) {
    throw new ApiError(400, 'system and developer messages are not allowed for this key or model: the gateway sets the system prompt', 'invalid_request_error', 'system_prompt_forbidden', 'messages');
  }
  const id = `${policy.mode}:${createHash('sha256').update(policy.content ?? '').digest('hex').slice(0, 16)}`;
  if (policy.content === undefined) return { request, id };
  const kept = policy.mode === 'replace' ? request.messages.filter((m) => !isSystemRole(m.role)) : request.messages;
  if (kept.length === 0) throw new ApiError(400, 'messages must contain a message besides system prompts', 'invalid_request_error', 'invalid_value', 'messages');
  return { request: { ...request, messages: [{ role: 'system', content: policy.content }, ...kept] }, id };
}
