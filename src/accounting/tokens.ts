import { get_encoding, type Tiktoken } from 'tiktoken';
import { boundedPieces } from './bounded-pieces.js';
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
  shortCounts.clear();
}

/** How many encoders are alive; lets tests prove that counting does not create one per call. */
export function liveEncoderCount(): number {
  return encoders.size;
}

/**
 * How many characters one count (one request's prompt, one reply) encodes with tiktoken. Beyond it
 * the rest is estimated from evenly spaced samples, so a count costs bounded time on any input the
 * body limit admits (1 MB of text takes ~0.5 s to encode even in bounded pieces; with this budget a
 * count of any 1 MB prompt stays within a few ms, see bench/request-bounds.ts). Prompts up to this
 * size (about 4,000 tokens of English) are counted exactly; beyond, the estimate is typically within
 * a few per cent, and the upstream's own `usage` is preferred wherever it is present.
 */
export const EXACT_CHARS_PER_COUNT = 16_384;
/** Each tiktoken call is charged at least this many characters: the WASM call itself costs about that. */
const CHARS_PER_CALL = 16;
/** A text longer than what is left of the budget is sampled in this many windows. */
const SAMPLE_WINDOWS = 64;
/** Below this much budget left, a long text is estimated from the ratio seen so far instead. */
const MIN_SAMPLE_CHARS = 1024;
/** Tokens per character when nothing has been counted yet (English prose is about 0.25). */
const DEFAULT_TOKENS_PER_CHAR = 0.3;

/**
 * Counts the strings of one prompt or reply with a shared budget of EXACT_CHARS_PER_COUNT
 * characters. Never throws: a failing encoder is dropped (rebuilt on the next count) and the text
 * estimated.
 */
class BoundedCounter {
  private remaining = EXACT_CHARS_PER_COUNT;
  private countedChars = 0;
  private countedTokens = 0;

  constructor(private readonly encoding: EncodingName) {}

  count(text: string): number {
    if (text.length === 0) return 0;
    if (text.length <= this.remaining) {
      const n = this.exact(text);
      if (n !== undefined) return n;
    } else if (this.remaining >= MIN_SAMPLE_CHARS) {
      const n = this.sampled(text);
      if (n !== undefined) return n;
    }
    return Math.max(1, Math.round(text.length * this.ratio()));
  }

  private ratio(): number {
    return this.countedChars > 0 ? this.countedTokens / this.countedChars : DEFAULT_TOKENS_PER_CHAR;
  }

  /** Encodes `text` in bounded pieces; undefined if the encoder failed. */
  private exact(text: string): number | undefined {
    const known = text.length <= SHORT_TEXT_CHARS ? shortCounts.get(this.encoding)?.get(text) : undefined;
    if (known !== undefined) return known;
    this.remaining -= Math.max(text.length, CHARS_PER_CALL);
    const n = encodeBounded(this.encoding, text);
    if (n !== undefined && text.length <= SHORT_TEXT_CHARS) rememberShort(this.encoding, text, n);
    if (n !== undefined) {
      this.countedChars += text.length;
      this.countedTokens += n;
    }
    return n;
  }

  /** Counts evenly spaced windows of `text` (spending the budget left) and scales to its length. */
  private sampled(text: string): number | undefined {
    const width = Math.floor(this.remaining / SAMPLE_WINDOWS);
    const stride = text.length / SAMPLE_WINDOWS;
    let chars = 0;
    let tokens = 0;
    for (let w = 0; w < SAMPLE_WINDOWS; w++) {
      const window = wordAligned(text, Math.floor(w * stride), width);
      const n = this.exact(window);
      if (n === undefined) return undefined;
      chars += window.length;
      tokens += n;
    }
    return chars > 0 ? Math.round((tokens / chars) * text.length) : undefined;
  }
}

/** Roles, names and tool-call ids recur in every request: their counts are remembered (bounded). */
const SHORT_TEXT_CHARS = 32;
const SHORT_TEXT_ENTRIES = 4096;
const shortCounts = new Map<EncodingName, Map<string, number>>();

function rememberShort(encoding: EncodingName, text: string, n: number): void {
  let memo = shortCounts.get(encoding);
  if (!memo) shortCounts.set(encoding, (memo = new Map()));
  if (memo.size >= SHORT_TEXT_ENTRIES) memo.clear();
  memo.set(text, n);
}

/**
 * About `width` characters of `text` from `start`, moved to start after a space and end before one
 * when there is one nearby, so that the window's edges do not split words (less sampling error).
 */
function wordAligned(text: string, start: number, width: number): string {
  const near = 32;
  let from = start;
  const space = text.indexOf(' ', start);
  if (space >= 0 && space - start < near) from = space;
  let to = Math.min(text.length, from + width);
  const back = text.lastIndexOf(' ', to);
  if (to < text.length && back > from && to - back < near) to = back;
  return text.slice(from, to);
}

function encodeBounded(name: EncodingName, text: string): number | undefined {
  const enc = encoder(name);
  try {
    let n = 0;
    // encode_ordinary: user text such as "<|endoftext|>" is counted as plain text, never as a
    // special token, and never throws the way encode() does for disallowed specials.
    for (const piece of boundedPieces(text)) n += enc.encode_ordinary(piece).length;
    return n;
  } catch {
    // A WASM panic may leave the instance unusable: drop it, the next count builds a fresh one.
    encoders.delete(name);
    try {
      enc.free();
    } catch {
      /* already unusable */
    }
    return undefined;
  }
}

/** Tokens of one text, exact for ordinary text up to EXACT_CHARS_PER_COUNT, bounded in time always. */
export function countTextTokens(model: string, text: string): number {
  return new BoundedCounter(encodingForModel(model)).count(text);
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
function messageBodyTokens(counter: BoundedCounter, m: ChatMessage): number {
  let n = counter.count(m.role);
  for (const text of contentText(m.content)) n += counter.count(text);
  if (typeof m.name === 'string') n += counter.count(m.name) + TOKENS_PER_NAME;
  for (const text of toolCallTexts(m.tool_calls)) n += counter.count(text);
  if (typeof m.tool_call_id === 'string') n += counter.count(m.tool_call_id);
  return n;
}

/**
 * Prompt tokens of a chat request, by the cookbook recipe: every message costs its strings plus 3
 * framing tokens (+1 when it has a name), and the reply is primed with 3 more. Tool definitions
 * (`tools`) are not counted: their serialisation is not documented, so any count would be a guess.
 * Exact up to EXACT_CHARS_PER_COUNT characters of text, estimated beyond; bounded in time always.
 */
export function countChatPromptTokens(model: string, messages: readonly ChatMessage[]): number {
  const counter = new BoundedCounter(encodingForModel(model));
  let total = REPLY_PRIMING_TOKENS;
  for (const m of messages) total += TOKENS_PER_MESSAGE + messageBodyTokens(counter, m);
  return total;
}

/**
 * Completion tokens of an assistant reply, for when the upstream sent no `usage`: its text and the
 * tool calls' names and arguments, with no framing (the upstream does not bill framing on output).
 */
export function countCompletionTokens(model: string, message: Pick<ChatMessage, 'content' | 'tool_calls'>): number {
  const counter = new BoundedCounter(encodingForModel(model));
  let n = 0;
  for (const text of contentText(message.content)) n += counter.count(text);
  for (const text of toolCallTexts(message.tool_calls)) n += counter.count(text);
  return n;
}
