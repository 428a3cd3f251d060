import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { RedactionDepthError, redactBody, redactBodyParts, redactionFromParts, type BodyRedaction, type RedactionMode, type RedactionParts } from './redaction.js';

/**
 * Redaction that never holds the event loop for long. PII detection is linear but not cheap:
 * 1 MB of text full of card numbers, e-mails or IPv6 addresses takes 0.4-0.8 s, during which every
 * other request (and /health) waited. Bodies with little text (nearly all) are redacted inline as
 * before; larger ones go to a worker thread, which runs the very same code (redactBodyParts) and
 * sends the result back as data. Workers start on first use, at most `size` of them; one that
 * takes longer than `timeoutMs` on a body is terminated (the request is refused with
 * RedactionUnavailableError) and a fresh one is started for the next body.
 */

export interface RedactionPoolOptions {
  /** Bodies whose text (string lengths plus a little per JSON node) is at most this are redacted inline. Default 16 KiB. */
  inlineLimit?: number;
  /** Worker threads at most. Default 1. */
  size?: number;
  /** Longest a worker may take on one body before it is replaced. Default 15 s. */
  timeoutMs?: number;
}

/** The body could not be checked in time (or the worker failed): answer 503, never pass it unchecked. */
export class RedactionUnavailableError extends Error {}

/**
 * Inline up to 16 KiB: at worst (dense card numbers and e-mails) 64 KiB took 13 ms inline, 16 KiB
 * about 3 ms, while a worker round trip holds the loop 5-10 ms for 1 MB (cloning in and out).
 */
export const DEFAULT_INLINE_LIMIT = 16 * 1024;
const NODE_WEIGHT = 8;

/**
 * Text size of a JSON value, counted until it passes `limit` (so the walk itself stays short).
 * Nesting deeper than the redaction walk allows is left to it (it throws RedactionDepthError).
 */
export function textWeight(value: unknown, limit: number): number {
  let total = 0;
  const walk = (v: unknown, depth: number): void => {
    if (total > limit) return;
    if (typeof v === 'string') {
      total += v.length + NODE_WEIGHT;
      return;
    }
    total += NODE_WEIGHT;
    if (v === null || typeof v !== 'object' || depth > 64) return;
    if (Array.isArray(v)) {
      for (const item of v) {
        walk(item, depth + 1);
        if (total > limit) return;
      }
      return;
    }
    for (const k in v as Record<string, unknown>) {
      total += k.length;
      walk((v as Record<string, unknown>)[k], depth + 1);
      if (total > limit) return;
    }
  };
  walk(value, 0);
  return total;
}

interface Pending {
  id: number;
  body: unknown;
  mode: RedactionMode;
  resolve: (parts: RedactionParts) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  /** The worker has loaded its code (it says so once). */
  ready: boolean;
  job?: Pending;
  timer?: NodeJS.Timeout;
}

// Built, the worker is a .js file next to this one. Under tsx (tests, `npx tsx`) both are .ts, and
// a worker does not inherit tsx's loader: it registers it first, then loads the worker's module.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(`./redaction-worker${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);

function startWorker(): Worker {
  if (!FROM_SOURCE) return new Worker(WORKER_URL);
  const tsx = pathToFileURL(path.join(path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(code, { eval: true });
}

export class RedactionPool {
  private readonly inlineLimit: number;
  private readonly size: number;
  private readonly timeoutMs: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  /** Workers replaced after a timeout or a crash (for tests and logs). */
  restarts = 0;

  constructor(opts: RedactionPoolOptions = {}) {
    this.inlineLimit = opts.inlineLimit ?? DEFAULT_INLINE_LIMIT;
    this.size = Math.max(1, opts.size ?? 1);
    this.timeoutMs = opts.timeoutMs ?? 15_000;
  }

  /** redactBody, inline for a small body, else on a worker. Same result either way. */
  async redactBody<T>(body: T, mode: RedactionMode): Promise<BodyRedaction<T>> {
    if (mode === 'off' || textWeight(body, this.inlineLimit) <= this.inlineLimit) return redactBody(body, mode);
    const parts = await new Promise<RedactionParts>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, body, mode, resolve, reject });
      this.dispatch();
    });
    return redactionFromParts(body, mode, parts);
  }

  /** Stops the workers; bodies still waiting are refused. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new RedactionUnavailableError('the gateway is shutting down'));
    await Promise.all(this.slots.splice(0).map((s) => this.stop(s, 'the gateway is shutting down')));
  }

  private dispatch(): void {
    if (this.closed) {
      for (const p of this.queue.splice(0)) p.reject(new RedactionUnavailableError('the gateway is shutting down'));
      return;
    }
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.job);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const job = this.queue.shift()!;
      slot.job = job;
      if (slot.ready) this.startTimer(slot);
      try {
        slot.worker.postMessage({ id: job.id, body: job.body, mode: job.mode });
      } catch (err) {
        // Not cloneable (cannot happen for parsed JSON): checked inline rather than refused.
        this.finish(slot);
        try {
          job.resolve(redactBodyParts(job.body, job.mode));
        } catch (e) {
          job.reject(e as Error);
        }
      }
    }
  }

  private spawn(): Slot {
    const worker = startWorker();
    worker.unref(); // an idle worker must not keep the process alive
    const slot: Slot = { worker, ready: false };
    worker.on('message', (msg: { ready?: true; id: number; parts?: RedactionParts; error?: string }) => {
      if (msg.ready) {
        slot.ready = true;
        if (slot.job) this.startTimer(slot);
        return;
      }
      const job = slot.job;
      if (!job || job.id !== msg.id) return;
      this.finish(slot);
      if (msg.parts) job.resolve(msg.parts);
      else if (msg.error === 'depth') job.reject(new RedactionDepthError());
      else job.reject(new RedactionUnavailableError(`sensitive-data check failed: ${msg.error}`));
      this.dispatch();
    });
    const lost = (why: string) => {
      if (!this.slots.includes(slot)) return;
      this.restarts++;
      void this.stop(slot, why);
    };
    worker.on('error', (err) => lost(`sensitive-data check failed: ${err.message}`));
    worker.on('exit', (code) => lost(`sensitive-data worker exited (code ${code})`));
    this.slots.push(slot);
    return slot;
  }

  private startTimer(slot: Slot): void {
    slot.timer = setTimeout(() => {
      this.restarts++;
      void this.stop(slot, `sensitive-data check took longer than ${this.timeoutMs} ms`);
    }, this.timeoutMs);
  }

  private finish(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.job = undefined;
  }

  /** Removes a worker: its body is refused, the next body gets a fresh worker. */
  private async stop(slot: Slot, why: string): Promise<void> {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    const job = slot.job;
    this.finish(slot);
    job?.reject(new RedactionUnavailableError(why));
    await slot.worker.terminate().catch(() => undefined);
    this.dispatch();
  }
}
