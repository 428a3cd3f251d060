import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ApiError, sendError } from './errors.js';

export interface AdmissionLimits {
  /** Requests served at once; 0 = no limit. */
  maxInflight: number;
  /** Requests that may wait for a slot beyond that; more are refused at once. */
  maxQueue: number;
  /** Longest wait in the queue before a 503. */
  queueTimeoutMs: number;
}

/** Seconds a refused client is told to wait: a slot frees as soon as any request finishes. */
const RETRY_AFTER_SECONDS = '1';

type Handler = (req: Request, res: Response, next: NextFunction) => unknown;

export interface AdmissionControl {
  /**
   * Runs `parser` (a body parser, optional) then `handler` inside a slot. The slot is held until
   * the handler's promise settles, not merely until the client leaves: a miss whose client hung
   * up is still being forwarded and stored, and that work must count.
   */
  guard(parser: RequestHandler | undefined, handler: Handler): RequestHandler;
  /** Requests being served and waiting. */
  stats(): { inflight: number; queued: number };
}

/**
 * Admission control for the routes that do real work (chat, pass-through, models): at most
 * `maxInflight` at once, then a bounded FIFO queue with a bounded wait, then 503 + Retry-After in
 * OpenAI's shape (`server_overloaded`). Under overload latency stays bounded instead of every
 * request slowing down together. /health, /metrics and admin routes do not go through it, so an
 * overloaded gateway can still be watched and managed. A slot is taken before the body is read,
 * so waiting requests hold no body in memory.
 */
export function createAdmissionControl(limits: AdmissionLimits, onRefused?: (status: number, code: string) => void): AdmissionControl {
  let inflight = 0;
  const queue: Array<() => void> = [];

  const refuse = (res: Response, message: string) => {
    onRefused?.(503, 'server_overloaded');
    sendError(res, new ApiError(503, message, 'server_error', 'server_overloaded', null, { 'retry-after': RETRY_AFTER_SECONDS }));
  };

  const release = () => {
    const next = queue.shift();
    if (next) next(); // the slot passes straight to the longest waiter
    else inflight--;
  };

  /** Resolves true with a slot taken, false when refused (answered) or the client left while waiting. */
  const acquire = (res: Response): Promise<boolean> => {
    if (limits.maxInflight === 0 || inflight < limits.maxInflight) {
      inflight++;
      return Promise.resolve(true);
    }
    if (queue.length >= limits.maxQueue) {
      refuse(res, `the gateway is at capacity (${limits.maxInflight} requests in flight, ${limits.maxQueue} waiting); retry shortly`);
      return Promise.resolve(false);
    }
    return new Promise((resolve) => {
      const leave = () => {
        const i = queue.indexOf(start);
        if (i !== -1) queue.splice(i, 1);
        clearTimeout(timer);
        res.off('close', onClose);
      };
      const start = () => {
        leave();
        resolve(true);
      };
      const timer = setTimeout(() => {
        leave();
        refuse(res, `the gateway is at capacity: no slot freed within ${limits.queueTimeoutMs} ms; retry shortly`);
        resolve(false);
      }, limits.queueTimeoutMs);
      // The client gave up while waiting: its place goes to the next one.
      const onClose = () => {
        leave();
        resolve(false);
      };
      res.once('close', onClose);
      queue.push(start);
    });
  };

  return {
    guard: (parser, handler) => async (req, res, next) => {
      if (!(await acquire(res))) return;
      try {
        if (parser) {
          const err = await new Promise<unknown>((resolve) => parser(req, res, resolve));
          if (err) {
            next(err);
            return;
          }
        }
        await handler(req, res, next);
      } finally {
        release();
      }
    },
    stats: () => ({ inflight, queued: queue.length }),
  };
}
