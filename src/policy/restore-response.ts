import type { ChatCompletion, ChatCompletionChunk, ChatMessage, ChunkChoice } from '../providers/types.js';
import type { RedactionResult, StreamRestorer } from './redaction.js';

/**
 * Puts masked values back into what goes to the client. The cache and every record keep the
 * placeholders; only these copies carry the originals, so nothing here mutates its input.
 */

function restoreMessage(message: ChatMessage, restore: (t: string) => string): ChatMessage {
  const out: ChatMessage = { ...message };
  if (typeof message.content === 'string') out.content = restore(message.content);
  else if (Array.isArray(message.content)) out.content = message.content.map((p) => (typeof p.text === 'string' ? { ...p, text: restore(p.text) } : p));
  if (message.tool_calls) out.tool_calls = message.tool_calls.map((c) => ({ ...c, function: { ...c.function, arguments: restore(c.function.arguments) } }));
  return out;
}

export function restoreCompletion(completion: ChatCompletion, redaction: Omit<RedactionResult, 'messages'>): ChatCompletion {
  if (Object.keys(redaction.findings).length === 0) return completion;
  return { ...completion, choices: completion.choices.map((c) => ({ ...c, message: restoreMessage(c.message, redaction.restore) })) };
}

/**
 * A per-request chunk mapper for live streams. A placeholder split over two chunks ("[EMA",
 * "IL_1]") is held back until complete; whatever is held is released with the choice's finish.
 */
export function createChunkRestorer(redaction: Omit<RedactionResult, 'messages'>): (chunk: ChatCompletionChunk) => ChatCompletionChunk {
  if (Object.keys(redaction.findings).length === 0) return (chunk) => chunk;
  const restorers = new Map<string, StreamRestorer>();
  const restorer = (key: string): StreamRestorer => {
    let r = restorers.get(key);
    if (!r) restorers.set(key, (r = redaction.createStreamRestorer()));
    return r;
  };
  const restoreChoice = (choice: ChunkChoice): ChunkChoice => {
    const delta = { ...choice.delta };
    if (typeof delta.content === 'string') delta.content = restorer(`${choice.index}:content`).push(delta.content);
    if (delta.tool_calls) {
      delta.tool_calls = delta.tool_calls.map((tc) =>
        tc.function?.arguments !== undefined ? { ...tc, function: { ...tc.function, arguments: restorer(`${choice.index}:tool:${tc.index}`).push(tc.function.arguments) } } : tc,
      );
    }
    if (choice.finish_reason !== null) {
      const held = restorers.get(`${choice.index}:content`)?.flush();
      if (held) delta.content = (typeof delta.content === 'string' ? delta.content : '') + held;
      for (const [key, r] of restorers) {
        const m = /^(\d+):tool:(\d+)$/.exec(key);
        if (!m || Number(m[1]) !== choice.index) continue;
        const rest = r.flush();
        if (rest) delta.tool_calls = [...(delta.tool_calls ?? []), { index: Number(m[2]), function: { arguments: rest } }];
      }
    }
    return { ...choice, delta };
  };
  return (chunk) => ({ ...chunk, choices: chunk.choices.map(restoreChoice) });
}
