import type { ChatChoice, ChatCompletion, ChatCompletionChunk, ToolCall, Usage } from './types.js';

interface ChoiceState {
  role: string;
  content: string;
  sawContent: boolean;
  refusal?: string;
  toolCalls: ToolCall[];
  finishReason: string | null;
  logprobs?: unknown;
}

/**
 * Folds `chat.completion.chunk`s back into the `chat.completion` they describe, so a streamed
 * answer is stored in the same shape as a non-streamed one and can be replayed either way.
 */
export class StreamAssembler {
  private id = '';
  private created = 0;
  private model = '';
  private systemFingerprint: string | null | undefined;
  private usage: Usage | undefined;
  private readonly choices = new Map<number, ChoiceState>();

  push(chunk: ChatCompletionChunk): void {
    if (chunk.id) this.id = chunk.id;
    if (chunk.created) this.created = chunk.created;
    if (chunk.model) this.model = chunk.model;
    if (chunk.system_fingerprint !== undefined) this.systemFingerprint = chunk.system_fingerprint;
    if (chunk.usage) this.usage = chunk.usage;
    for (const c of chunk.choices ?? []) {
      let s = this.choices.get(c.index);
      if (!s) {
        s = { role: 'assistant', content: '', sawContent: false, toolCalls: [], finishReason: null };
        this.choices.set(c.index, s);
      }
      const d = c.delta ?? {};
      if (typeof d.role === 'string') s.role = d.role;
      if (typeof d.content === 'string') {
        s.content += d.content;
        s.sawContent = true;
      }
      if (typeof d.refusal === 'string') s.refusal = (s.refusal ?? '') + d.refusal;
      for (const tc of d.tool_calls ?? []) {
        const slot = (s.toolCalls[tc.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
        if (tc.id) slot.id = tc.id;
        if (tc.function?.name) slot.function.name += tc.function.name;
        if (tc.function?.arguments) slot.function.arguments += tc.function.arguments;
      }
      if (c.finish_reason) s.finishReason = c.finish_reason;
      if (c.logprobs) s.logprobs = c.logprobs;
    }
  }

  /** True once every choice has a finish_reason: the answer is complete. */
  get complete(): boolean {
    return this.choices.size > 0 && [...this.choices.values()].every((c) => c.finishReason !== null);
  }

  result(): ChatCompletion {
    const choices: ChatChoice[] = [...this.choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, s]) => {
        const message: ChatChoice['message'] = { role: s.role as ChatChoice['message']['role'], content: s.sawContent || s.toolCalls.length === 0 ? s.content : null };
        if (s.refusal !== undefined) message.refusal = s.refusal;
        if (s.toolCalls.length) message.tool_calls = s.toolCalls.filter(Boolean);
        const choice: ChatChoice = { index, message, finish_reason: s.finishReason };
        if (s.logprobs !== undefined) choice.logprobs = s.logprobs;
        return choice;
      });
    const completion: ChatCompletion = { id: this.id, object: 'chat.completion', created: this.created, model: this.model, choices };
    if (this.usage) completion.usage = this.usage;
    if (this.systemFingerprint !== undefined) completion.system_fingerprint = this.systemFingerprint;
    return completion;
  }
}

/** The longest replayed piece, in code points: text with no spaces (CJK, long URLs) still streams. */
const MAX_PIECE = 12;

/**
 * Cuts an answer into about token-sized pieces for replay, the way a model streams it: a piece
 * starts where a word starts (its leading whitespace included, as in " world") and is cut after
 * MAX_PIECE code points. One linear pass; the pieces join back to exactly `text`.
 */
export function replayPieces(text: string): string[] {
  const pieces: string[] = [];
  let current = '';
  let length = 0;
  let prevSpace = false;
  for (const ch of text) {
    const space = /\s/.test(ch);
    if (length > 0 && ((space && !prevSpace) || length >= MAX_PIECE)) {
      pieces.push(current);
      current = '';
      length = 0;
    }
    current += ch;
    length++;
    prevSpace = space;
  }
  if (current) pieces.push(current);
  return pieces;
}

/**
 * The stream a client would have received for `completion`: a role chunk, the content in about
 * token-sized pieces (so a UI that renders tokens as they come sees a hit stream like a miss),
 * tool calls, the finish chunk, and (when asked for) a usage chunk with no choices.
 */
export function completionToChunks(completion: ChatCompletion, includeUsage: boolean): ChatCompletionChunk[] {
  const base = { id: completion.id, object: 'chat.completion.chunk' as const, created: completion.created, model: completion.model };
  const fp = completion.system_fingerprint !== undefined ? { system_fingerprint: completion.system_fingerprint } : {};
  const chunks: ChatCompletionChunk[] = [];
  for (const choice of completion.choices) {
    const m = choice.message;
    chunks.push({ ...base, ...fp, choices: [{ index: choice.index, delta: { role: m.role, content: '' }, finish_reason: null }] });
    if (typeof m.content === 'string') {
      for (const piece of replayPieces(m.content)) chunks.push({ ...base, ...fp, choices: [{ index: choice.index, delta: { content: piece }, finish_reason: null }] });
    }
    if (typeof m.refusal === 'string') {
      chunks.push({ ...base, ...fp, choices: [{ index: choice.index, delta: { refusal: m.refusal }, finish_reason: null }] });
    }
    (m.tool_calls ?? []).forEach((tc, i) => {
      chunks.push({
        ...base,
        ...fp,
        choices: [{ index: choice.index, delta: { tool_calls: [{ index: i, id: tc.id, type: tc.type, function: { ...tc.function } }] }, finish_reason: null }],
      });
    });
    chunks.push({ ...base, ...fp, choices: [{ index: choice.index, delta: {}, finish_reason: choice.finish_reason }] });
  }
  if (includeUsage && completion.usage) chunks.push({ ...base, ...fp, choices: [], usage: completion.usage });
  return chunks;
}
