import { get_encoding, type Tiktoken } from 'tiktoken';
import type { ChatMessage, ContentPart, ToolCall } from '../providers/types.js';

/**
 * Token counting with tiktoken's WASM encoders.
 *
 * Encoding choice per model:
 * - o200k_base: gpt-4o, chatgpt-4o, gpt-4.1, gpt-4.5, gpt-5, o1, o3, o4 families (and gpt-oss).
 * - cl100k_base: gpt-4 / gpt-4-turbo, gpt-3.5-turbo (gpt-35-turbo), text-embedding-3-*, text-embedding-ada-002.
 * - Fallback for anything else (unknown OpenAI names, claude-*, llama, mistral, ...): o200k_base.
 *   Non-OpenAI tokenizers are not public or not shipped here, so the count is an estimate; o200k_base
 *   is the newest and most multilingual of OpenAI's encodings, which keeps the estimate close for
 *   modern BPE tokenizers. The upstream's own `usage` is always preferred when it is present.
 */
export type EncodingName = 'o200k_base' | 'cl100k_base';

export const FALLBACK_ENCODING: EncodingName = 'o200k_base';

/** The chat format's framing (OpenAI cookbook, "How to count tokens with tiktoken"). */
export const TOKENS_PER_MESSAGE = 3;
export const TOKENS_PER_NAME = 1;
export const REPLY_PRIMING_TOKENS = 3;

const O200K_PREFIXES = ['gpt-4o', 'chatgpt-4o', 'gpt-4.1', 'gpt-4.5', 'gpt-5', 'o1', 'o3', 'o4', 'gpt-oss'];
const CL100K_PREFIXES = ['gpt-4', 'gpt-3.5-turbo', 'gpt-35-turbo', 'text-embedding-3', 'text-embedding-ada-002'];

/** `openai/gpt-4o` and `azure/gpt-4o` name the same model as `gpt-4o`. */
function bareModelName(model: string): string {
  const slash = model.lastIndexOf('/');
  return (slash >= 0 ? model.slice(slash + 1) : model).trim().toLowerCase();
}

/**
 * A prefix matches only at a name boundary, so `o1` does not claim `o1x` and `gpt-4` does not claim
 * `gpt-4o` (which is checked first anyway).
 */
function matchesFamily(name: string, prefix: string): boolean {
  if (!name.startsWith(prefix)) return false;
  const next = name.charAt(prefix.length);
  return next === '' || next === '-' || next === ':' || next === '@';
}

export function encodingForModel(model: string): EncodingName {
  const name = bareModelName(model);
  if (O200K_PREFIXES.some((p) => matchesFamily(name, p))) return 'o200k_base';
  if (CL100K_PREFIXES.some((p) => matchesFamily(name, p))) return 'cl100k_base';
  return FALLBACK_ENCODING;
}

// At most one encoder per encoding for the life of the process: they are large WASM objects that
// the GC cannot free, so they are built once and only ever released by freeEncoders().
const encoders = new Map<EncodingName, Tiktoken>();

function encoder(name: EncodingName): Tiktoken {
  let enc = encoders.get(name);
  if (!enc) {
    enc = get_encoding(name);
    encoders.set(name, enc);
  }
  return enc;
}

/** Release the WASM encoders (at shutdown, or in tests). They are rebuilt on the next count. */
export function freeEncoders(): void {
  for (const enc of encoders.values()) enc.free();
  encoders.clear();
}

/** How many encoders are alive; lets tests prove that counting does not create one per call. */
export function liveEncoderCount(): number {
  return encoders.size;
}

function countWith(enc: Tiktoken, text: string): number {
  // encode_ordinary: user text such as "<|endoftext|>" is counted as plain text, never as a special
  // token, and never throws the way encode() does for disallowed specials.
  return text.length === 0 ? 0 : enc.encode_ordinary(text).length;
}

export function countTextTokens(model: string, text: string): number {
  return countWith(encoder(encodingForModel(model)), text);
}

function contentText(content: ChatMessage['content']): string[] {
  if (content == null) return [];
  if (typeof content === 'string') return [content];
  // Only text parts carry text tokens; images and audio are priced by the upstream on other rules.
  return content.flatMap((part: ContentPart) => (typeof part.text === 'string' ? [part.text] : []));
}

function toolCallTexts(calls: ToolCall[] | undefined): string[] {
  if (!calls) return [];
  return calls.flatMap((c) => [c.function?.name ?? '', c.function?.arguments ?? '']);
}

/** The tokens of one message's own strings, without the per-message framing. */
function messageBodyTokens(enc: Tiktoken, m: ChatMessage): number {
  let n = countWith(enc, m.role);
  for (const text of contentText(m.content)) n += countWith(enc, text);
  if (typeof m.name === 'string') n += countWith(enc, m.name) + TOKENS_PER_NAME;
  for (const text of toolCallTexts(m.tool_calls)) n += countWith(enc, text);
  if (typeof m.tool_call_id === 'string') n += countWith(enc, m.tool_call_id);
  return n;
}

/**
 * Prompt tokens of a chat request, by the cookbook recipe: every message costs its strings plus 3
 * framing tokens (+1 when it has a name), and the reply is primed with 3 more. Tool definitions
 * (`tools`) are not counted: their serialisation is not documented, so any count would be a guess.
 */
export function countChatPromptTokens(model: string, messages: readonly ChatMessage[]): number {
  const enc = encoder(encodingForModel(model));
  let total = REPLY_PRIMING_TOKENS;
  for (const m of messages) total += TOKENS_PER_MESSAGE + messageBodyTokens(enc, m);
  return total;
}

/**
 * Completion tokens of an assistant reply, for when the upstream sent no `usage`: its text and the
 * tool calls' names and arguments, with no framing (the upstream does not bill framing on output).
 */
export function countCompletionTokens(model: string, message: Pick<ChatMessage, 'content' | 'tool_calls'>): number {
  const enc = encoder(encodingForModel(model));
  let n = 0;
  for (const text of contentText(message.content)) n += countWith(enc, text);
  for (const text of toolCallTexts(message.tool_calls)) n += countWith(enc, text);
  return n;
}
