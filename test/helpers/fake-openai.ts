import http from 'node:http';
import { ScriptedUpstream } from './loopback-server.js';

/** What the fake upstream does with the next call(s). */
export interface Behavior {
  latencyMs?: number;
  /** Answer with this HTTP status and an OpenAI error body. */
  failStatus?: number;
  /** For streams: send this many chunks, then cut the connection without the final event. */
  abortAfterChunks?: number;
  /** For streams: send this many chunks, then an SSE error event (`data: {"error":...}`) and end. */
  errorAfterChunks?: number;
  /** Fixed reply text (null: `content: null`); default is derived from the prompt. */
  reply?: string | null;
  /** The answer's finish_reason (default "stop"). */
  finishReason?: string | null;
  /** Answer 200 with `choices: []` (non-streamed calls). */
  noChoices?: boolean;
  /** Delay between stream chunks. */
  chunkDelayMs?: number;
}

export type { RecordedCall } from './loopback-server.js';

/**
 * A small OpenAI-compatible server for tests and benchmarks: deterministic answers derived from
 * the last user turn, controllable latency, errors and stream aborts, and a log of every call.
 */
export class FakeOpenAI extends ScriptedUpstream<Behavior> {


  static replyFor(body: Record<string, unknown>): string {
    const messages = body.messages as Array<{ role: string; content: unknown }>;
    const last = messages[messages.length - 1]!;
    const text = typeof last.content === 'string' ? last.content : JSON.stringify(last.content);
    return `Answer #${text.length} to: ${text}`;
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created: 0, owned_by: 'fake' }] }));
      return;
    }
    if (req.url === '/v1/slowpass' || req.url === '/v1/breakpass') {
      // A body that stalls (slowpass) or is cut (breakpass) after its first bytes.
      this.calls.push({ body: {}, headers: req.headers });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial ');
      if (req.url === '/v1/breakpass') {
        await sleep(50);
        res.destroy();
        return;
      }
      await sleep(this.behavior.latencyMs ?? 600);
      res.end('rest');
      return;
    }
    if (req.method === 'POST' && req.url === '/v1/embeddings') {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      this.calls.push({ body, headers: req.headers });
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-fake-upstream': 'embeddings',
        // What OpenAI sends (passed back) and what must stay behind.
        'x-request-id': 'req-fake-embeddings',
        'openai-processing-ms': '12',
        'x-ratelimit-remaining-requests': '99',
        'set-cookie': '__cf_bm=upstream-session; path=/',
        'openai-organization': 'org-of-the-provider-key',
      });
      res.end(JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], model: body.model }));
      return;
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error', code: null } }));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    this.calls.push({ body, headers: req.headers });
    const b = this.nextBehavior();
    if (b.latencyMs) await sleep(b.latencyMs);
    if (b.failStatus) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (b.failStatus === 429) headers['retry-after'] = '7';
      res.writeHead(b.failStatus, headers);
      res.end(JSON.stringify({ error: { message: `fake upstream failure ${b.failStatus}`, type: 'server_error', code: 'fake_failure' } }));
      return;
    }
    const reply = b.reply === undefined ? FakeOpenAI.replyFor(body) : b.reply;
    const finishReason = b.finishReason === undefined ? 'stop' : b.finishReason;
    const promptTokens = JSON.stringify(body.messages).length >> 2;
    const words = reply === null ? [] : reply.split(/(?<= )/);
    const usage = { prompt_tokens: promptTokens, completion_tokens: words.length, total_tokens: promptTokens + words.length };
    const id = `chatcmpl-fake-${this.calls.length}`;
    const created = 1_700_000_000 + this.calls.length;
    const model = String(body.model);
    if (body.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json' });
      const choices = b.noChoices ? [] : [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: finishReason, logprobs: null }];
      res.end(JSON.stringify({ id, object: 'chat.completion', created, model, choices, usage }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
    const streamOptions = body.stream_options as { include_usage?: boolean } | undefined;
    // As OpenAI does: with usage asked for, every chunk carries "usage": null until the last.
    const base = { id, object: 'chat.completion.chunk', created, model, ...(streamOptions?.include_usage ? { usage: null } : {}) };
    send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    for (const [i, w] of words.entries()) {
      if (b.abortAfterChunks !== undefined && i >= b.abortAfterChunks) {
        res.destroy();
        return;
      }
      if (b.errorAfterChunks !== undefined && i >= b.errorAfterChunks) {
        send({ error: { message: 'fake upstream overloaded mid-stream', type: 'server_error', code: 'fake_overloaded' } });
        res.end();
        return;
      }
      if (b.chunkDelayMs) await sleep(b.chunkDelayMs);
      send({ ...base, choices: [{ index: 0, delta: { content: w }, finish_reason: null }] });
    }
    send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: finishReason }] });
    if (streamOptions?.include_usage) send({ ...base, choices: [], usage });
    res.end('data: [DONE]\n\n');
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
