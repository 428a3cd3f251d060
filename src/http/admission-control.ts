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

interface Waiter {
  start: () => void;
}

/**
 * Admission control for the routes that do real work (chat, pass-through, models): at most
 * `maxInflight` at once, then a bounded FIFO queue with a bounded wait, then 503 +
 * Retry-After in OpenAI's shape (`server_overloaded`). Under overload latency stays bounded
 * instead of every request slowing down together. /health, /metrics and admin routes do not
 * go through it, so an overloaded gateway can still be watched and managed.
 */
export function createAdmissionControl(limits: AdmissionLimits, onRefused?: (status: number, code: string) => void) {
  let inflight = 0;
  const queue: Waiter[] = [];

  const refuse = (res: Response, message: string) => {
    onRefused?.(503, 'server_overloaded');
    sendError(res, new ApiError(503, message, 'server_error', 'server_overloaded', null, { 'retry-after': RETRY_AFTER_SECONDS }));
  };

  const release = () => {
    inflight--;
    queue.shift()?.start();
  };
  const drop = (waiter: Waiter) => {
    const i = queue.indexOf(waiter);
    if (i !== -1) queue.splice(i, 1);
  };

  const run = (res: Response, next: NextFunction) => {
    inflight++;
    let released = false;
    // 'close' fires once the response is sent or the client went away, whichever comes first.
    res.once('close', () => {
      if (released) return;
      released = true;
      release();
    });
    next();
  };

  const handler: RequestHandler = (_req: Request, res: Response, next: NextFunction) => {
    if (limits.maxInflight === 0 || inflight < limits.maxInflight) {
      run(res, next);
      return;
    }
    if (queue.length >= limits.maxQueue) {
      refuse(res, `the gateway is at capacity (${limits.maxInflight} requests in flight, ${limits.maxQueue} waiting); retry shortly`);
      return;
    }
    const waiter: Waiter = {
      start: () => {
        clearTimeout(timer);
        res.off('close', onClose);
        run(res, next);
      },
    };
    const timer = setTimeout(() => {
      drop(waiter);
      res.off('close', onClose);
      refuse(res, `the gateway is at capacity: no slot freed within ${limits.queueTimeoutMs} ms; retry shortly`);
    }, limits.queueTimeoutMs);
    const onClose = () => {
      // The client gave up while waiting: its place goes to the next one.
      drop(waiter);
      clearTimeout(timer);
    };
    res.once('close', onClose);
    queue.push(waiter);
  };

  return {
    handler,
    /** Requests being served and waiting (for metrics and tests). */
    stats: () => ({ inflight, queued: queue.length }),
  };
}
