import { scrubSecrets } from '../../policy/redaction.js';
import { UpstreamFormatError, type ChatCompletion, type ToolCall, type Usage } from '../types.js';

export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const FINISH_REASONS: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  // The model yielded a server-tool turn; to an OpenAI client the answer simply ended.
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

export function toFinishReason(stopReason: unknown): string | null {
  if (typeof stopReason !== 'string') return null;
  return FINISH_REASONS[stopReason] ?? 'stop';
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/**
 * Anthropic counts cached prompt tokens apart from `input_tokens`; OpenAI's `prompt_tokens`
 * includes them (and names the cached share in `prompt_tokens_details`), so they are added back:
 * budgets and token limits must see every prompt token that was billed.
 */
export function toOpenAIUsage(usage: AnthropicUsage): Usage {
  const cacheRead = count(usage.cache_read_input_tokens);
  const cacheCreation = count(usage.cache_creation_input_tokens);
  const prompt = count(usage.input_tokens) + cacheRead + cacheCreation;
  const completion = count(usage.output_tokens);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead },
    ...(cacheCreation > 0 ? { cache_creation_input_tokens: cacheCreation } : {}),
  };
}

/** Anthropic Messages response -> chat.completion. `created` is not in Anthropic's body. */
export function fromAnthropicMessage(body: unknown, createdAt: number): ChatCompletion {
  if (!isRecord(body) || body.type !== 'message' || !Array.isArray(body.content)) {
    throw new UpstreamFormatError('upstream response is not an Anthropic message');
  }
  const texts: string[] = [];
  const toolCalls: ToolCall[] = [];
  for (const block of body.content) {
    if (!isRecord(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
    else if (block.type === 'tool_use') {
      toolCalls.push({
        id: String(block.id ?? ''),
        type: 'function',
        function: { name: String(block.name ?? ''), arguments: JSON.stringify(block.input ?? {}) },
      });
    }
    // thinking / redacted_thinking / server tool blocks have no chat.completions counterpart.
  }
  const message: ChatCompletion['choices'][number]['message'] = {
    role: 'assistant',
    // OpenAI sends null content for a pure tool-call answer; clients test for it.
    content: texts.length === 0 && toolCalls.length > 0 ? null : texts.join(''),
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: typeof body.id === 'string' ? body.id : '',
    object: 'chat.completion',
    created: createdAt,
    model: typeof body.model === 'string' ? body.model : '',
    choices: [{ index: 0, message, finish_reason: toFinishReason(body.stop_reason) ?? 'stop', logprobs: null }],
    usage: toOpenAIUsage(isRecord(body.usage) ? (body.usage as AnthropicUsage) : {}),
  };
}

const MAX_ERROR_CHARS = 500;

/** `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}` -> "overloaded_error: Overloaded". */
export function anthropicErrorMessage(status: number, body: unknown): string {
  let text = `upstream returned HTTP ${status}`;
  if (isRecord(body) && isRecord(body.error)) {
    const { type, message } = body.error;
    if (typeof message === 'string') text = typeof type === 'string' ? `${type}: ${message}` : message;
  } else if (typeof body === 'string' && body.trim() !== '') {
    text = body.trim();
  }
  return scrubSecrets(text).slice(0, MAX_ERROR_CHARS);
}
