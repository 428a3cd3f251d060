import type { ChatChoice, ChatCompletion } from '../providers/types.js';

/**
 * Which upstream answers may be stored and served again (to this request's repeats and, through
 * the semantic tier, to its paraphrases). Only answers that say something: every choice has text
 * or tool calls and ended normally. An empty `choices`, a `content_filter` or refusal, an empty
 * text, or an answer without a finish reason is passed to the client but never cached: served from
 * the cache it would turn one provider hiccup or one filtered prompt into the answer for everyone
 * who asks anything close.
 *
 * `length` (cut at max_tokens or the context window) is cacheable: max_tokens is part of the cache
 * scope, so only a request with the same limit is served the answer, and the upstream would cut
 * that request at the same place again. A cut answer with no text at all (a reasoning model that
 * spent the whole limit thinking) is still refused by the empty-answer rule.
 */
const NORMAL_FINISH = new Set(['stop', 'length', 'tool_calls', 'function_call']);

function saysSomething(message: ChatChoice['message']): boolean {
  if (Array.isArray(message.tool_calls) && message.tool_calls.length > 0) return true;
  const legacy = message.function_call as { name?: unknown } | undefined;
  if (legacy && typeof legacy.name === 'string' && legacy.name !== '') return true;
  const content = message.content;
  if (typeof content === 'string') return content.trim() !== '';
  if (Array.isArray(content)) return content.some((p) => typeof p?.text === 'string' && p.text.trim() !== '');
  return false;
}

/** Why `completion` must not be cached, or undefined when it may be. */
export function uncacheableReason(completion: ChatCompletion): string | undefined {
  if (!Array.isArray(completion.choices) || completion.choices.length === 0) return 'no choices';
  for (const choice of completion.choices) {
    const finish = choice?.finish_reason;
    if (typeof finish !== 'string' || !NORMAL_FINISH.has(finish)) return `finish_reason ${finish === undefined ? 'missing' : JSON.stringify(finish)}`;
    const message = choice.message;
    if (!message || typeof message !== 'object') return 'no message';
    if (typeof message.refusal === 'string' && message.refusal !== '') return 'refusal';
    if (!saysSomething(message)) return 'empty answer';
  }
  return undefined;
}
