import fs from 'node:fs';
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Config } from '../config.js';

/**
 * Stdout in batches: lines logged while the event loop works on requests go out in one write on
 * the next turn (setImmediate) instead of one write per line. Writes to a pipe or file are
 * synchronous in Node on Linux, so a write per request is per-request sync work on the hot path.
 * Whatever is pending when the process exits is written synchronously then.
 */
/** Every batch writer, flushed synchronously by one exit listener. */
const pendingAtExit = new Set<BatchedStdout>();
let sharedStdout: BatchedStdout | undefined;

export class BatchedStdout extends Writable {
  private pending: string[] = [];
  private scheduled = false;
  private readonly flushNow = () => this.flushPending();

  constructor(private readonly fd = 1) {
    super({ decodeStrings: false });
    pendingAtExit.add(this);
    if (pendingAtExit.size === 1) process.once('exit', () => pendingAtExit.forEach((b) => b.flushSync()));
  }

  override _write(chunk: string | Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.pending.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
    callback();
  }

  private take(): string | undefined {
    this.scheduled = false;
    if (this.pending.length === 0) return undefined;
    const text = this.pending.join('');
    this.pending = [];
    return text;
  }

  private flushPending(): void {
    const text = this.take();
    if (text === undefined) return;
    if (this.fd === 1) process.stdout.write(text);
    else fs.write(this.fd, text, () => {});
  }

  flushSync(): void {
    const text = this.take();
    if (text === undefined) return;
    try {
      fs.writeSync(this.fd, text);
    } catch {
      // stdout closed: nothing left to tell
    }
  }
}

/** winston's own json() for the odd value JSON.stringify refuses (a cycle, a BigInt). */
const fallbackJson = winston.format.json();
/** Where winston's transports read the finished line (triple-beam's MESSAGE). */
const MESSAGE = Symbol.for('message');

/**
 * The line of one log event: `timestamp` (ISO 8601) added as winston's timestamp() does, then the
 * whole info object as JSON in one JSON.stringify. winston's json() is the same JSON through
 * safe-stable-stringify, which it configures anew and sorts keys for on every line: a third of the
 * cost of a request's log line (23 -> 15 us per line measured). Keys come in insertion order.
 */
export const jsonLine = winston.format((info) => {
  if (!info.timestamp) info.timestamp = new Date().toISOString();
  try {
    (info as Record<symbol, unknown>)[MESSAGE] = JSON.stringify(info);
  } catch {
    return fallbackJson.transform(info, {});
  }
  return info;
});

/**
 * JSON lines on stdout, one per request plus lifecycle events. Callers pass only what may be
 * logged: never a key or Authorization header, and prompt text only when LOG_PROMPTS is on.
 */
export function createLogger(log: Config['log']): winston.Logger {
  return winston.createLogger({
    level: log.level === 'silent' ? 'error' : log.level,
    silent: log.level === 'silent',
    format: jsonLine(),
    transports: [new winston.transports.Stream({ stream: (sharedStdout ??= new BatchedStdout()) })],
  });
}

/** Whether a line at `level` would be written: callers skip building its fields otherwise. */
export function logs(logger: winston.Logger, level: 'info' | 'debug' | 'warn'): boolean {
  return !logger.silent && logger.isLevelEnabled(level);
}
