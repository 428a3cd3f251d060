import http from 'node:http';
import { LoopbackServer } from './loopback-server.js';

/**
 * An upstream whose answer depends on what a question means: each known prompt belongs to a
 * meaning group, and every prompt of a group gets that group's one answer (a prompt the table
 * does not know gets an answer of its own). So a cached answer served to a paraphrase is right,
 * and served to a near-miss is wrong, and a test can tell which by reading it.
 */
export class MeaningUpstream extends LoopbackServer {
  calls = 0;
  private readonly groupOf = new Map<string, string>();

  constructor(private readonly answers: Record<string, { answer: string; prompts: string[] }>) {
    super();
    for (const [group, g] of Object.entries(answers)) for (const p of g.prompts) this.groupOf.set(p, group);
  }

  /** The answer the upstream gives to a prompt (the right answer for it). */
  answerFor(prompt: string): string {
    const group = this.groupOf.get(prompt);
    return group ? this.answers[group]!.answer : `An answer of its own to: ${prompt}`;
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; messages: Array<{ content: string }>; stream?: boolean };
    const n = ++this.calls;
    const prompt = body.messages[body.messages.length - 1]!.content;
    const content = this.answerFor(prompt);
    const usage = { prompt_tokens: 10, completion_tokens: content.split(' ').length, total_tokens: 10 + content.split(' ').length };
    const id = `chatcmpl-meaning-${n}`;
    if (body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const base = { id, object: 'chat.completion.chunk', created: 1_700_000_000, model: body.model };
      res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content }, finish_reason: null }] })}\n\n`);
      res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id, object: 'chat.completion', created: 1_700_000_000, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage }));
  }
}
