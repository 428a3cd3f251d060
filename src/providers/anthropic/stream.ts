import {
  UpstreamFormatError,
  UpstreamStreamError,
  type ChatCompletionChunk,
  type ChatRequest,
  type ChunkChoice,
  type StreamTranslator,
} from '../types.js';
import { toFinishReason, toOpenAIUsage, type AnthropicUsage } from './response.js';

type AnthropicEvent = Record<string, unknown> & { type?: unknown };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Anthropic's SSE events -> OpenAI `chat.completion.chunk`s, in the order and shape OpenAI sends
 * them: a role chunk first, content and tool-call deltas, one chunk with `finish_reason`, then (if
 * `stream_options.include_usage`) a usage chunk with empty `choices`, in which case every other
 * chunk carries `usage: null` as OpenAI's do.
 */
export class AnthropicStreamTranslator implements StreamTranslator {
  private id = '';
  private model: string;
  private readonly includeUsage: boolean;
  private usage: AnthropicUsage = {};
  /** Anthropic numbers all content blocks; OpenAI numbers tool calls only. */
  private readonly toolIndexByBlock = new Map<number, number>();
  private finishSent = false;
  private finished = false;

  constructor(
    req: ChatRequest,
    private readonly createdAt: number,
  ) {
    this.model = req.model;
    this.includeUsage = req.stream_options?.include_usage === true;
  }

  get done(): boolean {
    return this.finished;
  }

  push(event: { event?: string; data: string }): ChatCompletionChunk[] {
    if (event.data.trim() === '') return [];
    let data: AnthropicEvent;
    try {
      const parsed: unknown = JSON.parse(event.data);
      if (!isRecord(parsed)) throw new Error('not an object');
      data = parsed;
    } catch {
      throw new UpstreamFormatError('upstream stream sent an event that is not a JSON object');
    }
    const type = typeof data.type === 'string' ? data.type : event.event;
    switch (type) {
      case 'message_start':
        return this.onMessageStart(data);
      case 'content_block_start':
        return this.onBlockStart(data);
      case 'content_block_delta':
        return this.onBlockDelta(data);
      case 'message_delta':
        return this.onMessageDelta(data);
      case 'message_stop':
        return this.onMessageStop();
      case 'error':
        return this.onError(data);
      default:
        // ping, content_block_stop, and event types added later carry nothing to translate.
        return [];
    }
  }

  private chunk(choices: ChunkChoice[]): ChatCompletionChunk {
    const chunk: ChatCompletionChunk = {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.createdAt,
      model: this.model,
      choices,
    };
    if (this.includeUsage) chunk.usage = null;
    return chunk;
  }

  private delta(delta: ChunkChoice['delta'], finishReason: string | null = null): ChatCompletionChunk {
    return this.chunk([{ index: 0, delta, finish_reason: finishReason, logprobs: null }]);
  }

  private mergeUsage(usage: unknown): void {
    if (!isRecord(usage)) return;
    // message_delta's counts are cumulative, so later values replace earlier ones.
    for (const key of ['input_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens'] as const) {
      const value = usage[key];
      if (typeof value === 'number') this.usage[key] = value;
    }
  }

  private onMessageStart(data: AnthropicEvent): ChatCompletionChunk[] {
    const message = isRecord(data.message) ? data.message : {};
    if (typeof message.id === 'string') this.id = message.id;
    if (typeof message.model === 'string') this.model = message.model;
    this.mergeUsage(message.usage);
    return [this.delta({ role: 'assistant', content: '' })];
  }

  private onBlockStart(data: AnthropicEvent): ChatCompletionChunk[] {
    const block = isRecord(data.content_block) ? data.content_block : {};
    const blockIndex = typeof data.index === 'number' ? data.index : -1;
    if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') {
      return [this.delta({ content: block.text })];
    }
    if (block.type === 'tool_use') {
      const toolIndex = this.toolIndexByBlock.size;
      this.toolIndexByBlock.set(blockIndex, toolIndex);
      return [
        this.delta({
          tool_calls: [
            { index: toolIndex, id: String(block.id ?? ''), type: 'function', function: { name: String(block.name ?? ''), arguments: '' } },
          ],
        }),
      ];
    }
    return [];
  }

  private onBlockDelta(data: AnthropicEvent): ChatCompletionChunk[] {
    const delta = isRecord(data.delta) ? data.delta : {};
    if (delta.type === 'text_delta' && typeof delta.text === 'string') {
      return delta.text === '' ? [] : [this.delta({ content: delta.text })];
    }
    if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
      const toolIndex = this.toolIndexByBlock.get(typeof data.index === 'number' ? data.index : -1);
      if (toolIndex === undefined || delta.partial_json === '') return [];
      // OpenAI's argument deltas carry only index and function.arguments.
      return [this.delta({ tool_calls: [{ index: toolIndex, function: { arguments: delta.partial_json } }] })];
    }
    // thinking_delta, signature_delta, citations_delta: no chat.completions counterpart.
    return [];
  }

  private onMessageDelta(data: AnthropicEvent): ChatCompletionChunk[] {
    this.mergeUsage(data.usage);
    const delta = isRecord(data.delta) ? data.delta : {};
    const finishReason = toFinishReason(delta.stop_reason);
    if (finishReason === null || this.finishSent) return [];
    this.finishSent = true;
    return [this.delta({}, finishReason)];
  }

  private onMessageStop(): ChatCompletionChunk[] {
    if (this.finished) return [];
    this.finished = true;
    const chunks: ChatCompletionChunk[] = [];
    // A stream that ends without a stop_reason still needs a finish chunk for OpenAI clients.
    if (!this.finishSent) {
      this.finishSent = true;
      chunks.push(this.delta({}, 'stop'));
    }
    if (this.includeUsage) chunks.push({ ...this.chunk([]), usage: toOpenAIUsage(this.usage) });
    return chunks;
  }

  private onError(data: AnthropicEvent): never {
    const error = isRecord(data.error) ? data.error : {};
    const message = typeof error.message === 'string' ? error.message : 'upstream stream error';
    throw new UpstreamStreamError(message, typeof error.type === 'string' ? error.type : undefined);
  }
}
