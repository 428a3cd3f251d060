import { parentPort } from 'node:worker_threads';
import { RedactionDepthError, redactBodyParts, type RedactionMode } from './redaction.js';

/**
 * A RedactionPool worker: runs redactBodyParts on one body at a time, off the gateway's event
 * loop, and answers with plain data (never logs: the values it sees are the client's secrets).
 */

interface Job {
  id: number;
  body: unknown;
  mode: RedactionMode;
}

parentPort!.on('message', (job: Job) => {
  try {
    parentPort!.postMessage({ id: job.id, parts: redactBodyParts(job.body, job.mode) });
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: err instanceof RedactionDepthError ? 'depth' : (err as Error).message });
  }
});
// The pool's timeout counts from here: starting a worker (loading modules) is not checking a body.
parentPort!.postMessage({ ready: true });
