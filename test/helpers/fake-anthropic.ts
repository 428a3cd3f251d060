import http from 'node:http';
import { ScriptedUpstream } from './loopback-server.js';
import { sleep, type Behavior } from './fake-openai.js';

export interface AnthropicBehavior extends Behavior {
  /** Answer with a tool_use block calling this tool with this input (when the request offers tools). */
  toolUse?: { name: string; input: Record<string, unknown> };
  /** Characters per text_delta event when streaming (default: one word per event). */
  charsPerDelta?: number;
}

/**
 * A small Anthropic Messages API server (POST /v1/messages) for tests: checks the headers the
 * real API requires, answers deterministically from the last user turn, non-stream or as the
 * real SSE event sequence (message_start, content_block_*, message_delta, message_stop), and
 * records every call.
 */
export class FakeAnthropic extends ScriptedUpstream<AnthropicBehavior> {
  /** The x-api-key the server accepts; calls without it get Anthropic's 401. */
  constructor(readonly apiKey = 'anthropic-test-key') {
    super();
  }


  static replyFor(body: Record<string, unknown>): string {
    const messages = body.messages as Array<{ role: string; content: unknown }>;
    const last = messages[messages.length - 1]!;
    const text = typeof last.content === 'string' ? last.content : (last.content as Array<{ text?: string }>).map((b) => b.text ?? '').join('');
    return `Claude says: ${text}`;
  }

  private error(res: http.ServerResponse, status: number, type: string, message: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ type: 'error', error: { type, message } }));
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || req.url !== '/v1/messages') return this.error(res, 404, 'not_found_error', 'Not found');
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    this.calls.push({ body, headers: req.headers });
    if (req.headers['x-api-key'] !== this.apiKey) return this.error(res, 401, 'authentication_error', 'invalid x-api-key');
    if (!req.headers['anthropic-version']) return this.error(res, 400, 'invalid_request_error', 'anthropic-version header is required');
    if (typeof body.max_tokens !== 'number') return this.error(res, 400, 'invalid_request_error', 'max_tokens: Field required');
    const b = this.nextBehavior();
    if (b.latencyMs) await sleep(b.latencyMs);
    if (b.failStatus) {
      const type = b.failStatus === 429 ? 'rate_limit_error' : b.failStatus === 529 ? 'overloaded_error' : 'api_error';
      return this.error(res, b.failStatus, type, `fake anthropic failure ${b.failStatus}`, b.failStatus === 429 ? { 'retry-after': '7' } : {});
    }
    const reply = b.reply ?? FakeAnthropic.replyFor(body);
    const inputTokens = JSON.stringify(body.messages).length >> 2;
    const id = `msg_fake_${this.calls.length}`;
    const model = String(body.model);
    const tool = b.toolUse && Array.isArray(body.tools) && body.tools.length > 0 ? b.toolUse : undefined;

    if (body.stream !== true) {
      const content = tool ? [{ type: 'tool_use', id: 'toolu_fake_1', name: tool.name, input: tool.input }] : [{ type: 'text', text: reply }];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id,
          type: 'message',
          role: 'assistant',
          model,
          content,
          stop_reason: tool ? 'tool_use' : 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: inputTokens, output_tokens: reply.split(' ').length },
        }),
      );
      return;
    }

    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (event: string, data: Record<string, unknown>) => res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
    send('message_start', {
      message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: inputTokens, output_tokens: 1 } },
    });
    send('ping', {});
    send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    const pieces = b.charsPerDelta ? reply.match(new RegExp(`[\\s\\S]{1,${b.charsPerDelta}}`, 'g'))! : reply.split(/(?<= )/);
    for (const [i, piece] of pieces.entries()) {
      if (b.abortAfterChunks !== undefined && i >= b.abortAfterChunks) {
        res.destroy();
        return;
      }
      if (b.chunkDelayMs) await sleep(b.chunkDelayMs);
      send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } });
    }
    send('content_block_stop', { index: 0 });
    send('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: pieces.length } });
    send('message_stop', {});
    res.end();
  }
}
