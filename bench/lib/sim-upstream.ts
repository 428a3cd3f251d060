/**
 * A simulated OpenAI-compatible upstream for benchmarks, in the spirit of test/helpers/fake-openai.ts
 * but shaped like a real model: a seeded latency range per prompt, answers of realistic length,
 * token-by-token streams with a per-token delay, and tiktoken-counted usage. The answer id names
 * the prompt it was generated for (`chatcmpl-sim-<textHash>-<n>`), so a benchmark can tell which
 * earlier request a cached answer came from.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { LoopbackServer } from '../../test/helpers/loopback-server.js';
import { countChatPromptTokens, countCompletionTokens } from '../../src/accounting/tokens.js';
import type { ChatMessage } from '../../src/providers/types.js';
import { seededRandom } from './datasets.js';

export interface SimUpstreamOptions {
  /** Total response time of one call: uniform in [min, max], drawn from the prompt and the seed. */
  latencyMs: { min: number; max: number };
  /** Share of the latency spent before the first token (the rest is spread over the tokens). */
  firstTokenShare?: number;
  /** Answer length in words, uniform in [min, max] per prompt. */
  replyWords?: { min: number; max: number };
  seed?: number;
}

/** Short stable hash of a prompt text, as carried in answer ids. */
export function textHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** The hash a served answer's id carries, or undefined for an id the simulator did not make. */
export function sourceHashOf(completionId: string | undefined): string | undefined {
  return completionId ? /^chatcmpl-sim-([0-9a-f]{12})-/.exec(completionId)?.[1] : undefined;
}

const FILLER = (
  'the answer depends on a few details so here is a short overview first then the steps in order ' +
  'with an example you can adapt and a note on common mistakes to avoid along the way in practice ' +
  'most people find that starting simple works best and you can refine it later if needed'
).split(' ');

function promptSeed(text: string, seed: number): number {
  return createHash('sha256').update(`${seed}\n${text}`).digest().readUInt32LE(0);
}

/** The deterministic answer the simulator gives to a prompt (also used offline for token counts). */
export function simulatedReply(text: string, opts: Pick<SimUpstreamOptions, 'replyWords' | 'seed'> = {}): string {
  const { min, max } = opts.replyWords ?? { min: 60, max: 260 };
  const random = seededRandom(promptSeed(text, opts.seed ?? 1));
  const words = min + Math.floor(random() * (max - min + 1));
  const out: string[] = [`Here is an answer about "${text.slice(0, 60)}":`];
  for (let i = 0; i < words; i++) out.push(FILLER[Math.floor(random() * FILLER.length)]!);
  return out.join(' ') + '.';
}

function lastUserText(messages: ChatMessage[]): string {
  const last = messages[messages.length - 1];
  return typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class SimUpstream extends LoopbackServer {
  /** Chat calls answered so far. */
  calls = 0;
  private readonly usageCache = new Map<string, { prompt: number; completion: number; reply: string }>();

  constructor(readonly opts: SimUpstreamOptions) {
    super();
  }

  /** The latency this simulator gives a prompt. */
  latencyFor(text: string): number {
    const { min, max } = this.opts.latencyMs;
    if (max <= min) return min;
    return min + seededRandom(promptSeed(text, (this.opts.seed ?? 1) + 17))() * (max - min);
  }

  private answer(model: string, messages: ChatMessage[], text: string) {
    // Counting tokens is the costliest part of a fake answer; prompts repeat, so remember them.
    const key = `${model}\n${text}\n${messages.length}`;
    let u = this.usageCache.get(key);
    if (!u) {
      const reply = simulatedReply(text, this.opts);
      u = { reply, prompt: countChatPromptTokens(model, messages), completion: countCompletionTokens(model, { content: reply }) };
      if (this.usageCache.size > 50_000) this.usageCache.clear();
      this.usageCache.set(key, u);
    }
    return u;
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-4o', object: 'model', created: 0, owned_by: 'sim' }] }));
      return;
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error', code: null } }));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; messages: ChatMessage[]; stream?: boolean; stream_options?: { include_usage?: boolean } };
    const n = ++this.calls;
    const text = lastUserText(body.messages);
    const { reply, prompt, completion } = this.answer(body.model, body.messages, text);
    const usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
    const id = `chatcmpl-sim-${textHash(text)}-${n}`;
    const created = Math.floor(Date.now() / 1000);
    const latency = this.latencyFor(text);
    const firstToken = latency * (this.opts.firstTokenShare ?? 0.35);

    if (body.stream !== true) {
      await sleep(latency);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id, object: 'chat.completion', created, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop', logprobs: null }], usage }));
      return;
    }
    await sleep(firstToken);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const base = { id, object: 'chat.completion.chunk', created, model: body.model };
    const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
    send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    const pieces = reply.split(/(?<= )/);
    const perToken = (latency - firstToken) / pieces.length;
    // One chunk per word, as models stream; the timer only fires once a few ms have accrued,
    // since a timer per token would cost more than the delay it simulates.
    let owed = 0;
    for (const p of pieces) {
      owed += perToken;
      if (owed >= 4) {
        await sleep(owed);
        owed = 0;
      }
      if (res.destroyed) return;
      send({ ...base, choices: [{ index: 0, delta: { content: p }, finish_reason: null }] });
    }
    if (owed > 0) await sleep(owed);
    send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
    if (body.stream_options?.include_usage) send({ ...base, choices: [], usage });
    res.end('data: [DONE]\n\n');
  }
}
