import {
  UpstreamFormatError,
  UpstreamStreamError,
  type ChatCompletionChunk,
  type StreamTranslator,
} from '../types.js';

/**
 * The upstream already speaks `chat.completion.chunk`, so each `data:` line is parsed and passed on.
 * Parsing (rather than forwarding bytes) lets the gateway read usage and restore redacted values.
 */
export class OpenAIStreamTranslator implements StreamTranslator {
  private finished = false;

  get done(): boolean {
    return this.finished;
  }

  push(event: { event?: string; data: string }): ChatCompletionChunk[] {
    const data = event.data.trim();
    if (data === '') return [];
    if (data === '[DONE]') {
      this.finished = true;
      return [];
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      throw new UpstreamFormatError('upstream stream sent a data line that is not JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new UpstreamFormatError('upstream stream chunk is not a JSON object');
    }
    const chunk = parsed as Record<string, unknown>;
    // vLLM and OpenAI report mid-stream failures as a chunk holding only `error`.
    if (chunk.error !== undefined && chunk.choices === undefined) {
      const error = chunk.error as { message?: unknown; type?: unknown } | string;
      const message =
        typeof error === 'string' ? error : typeof error?.message === 'string' ? error.message : 'upstream stream error';
      const type = typeof error === 'object' && typeof error?.type === 'string' ? error.type : undefined;
      throw new UpstreamStreamError(message, type);
    }
    // Some servers send the final usage chunk with `choices: null` or without the key.
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    return [{ ...chunk, object: 'chat.completion.chunk', choices } as ChatCompletionChunk];
  }
}
