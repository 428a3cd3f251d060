import type { Socket } from 'node:net';
import { errorBody } from './errors.js';

/** Node's parser errors and the answers they get: status, reason phrase, message, code. */
const ANSWERS: Record<string, [number, string, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'request headers are too large', 'headers_too_large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Payload Too Large', 'chunk extensions are too large', 'request_too_large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'the request was not received in time', 'request_timeout'],
};
const MALFORMED: [number, string, string, string] = [400, 'Bad Request', 'malformed HTTP request', 'malformed_request'];

/**
 * The server's 'clientError' handler: Node answers a request it cannot parse (malformed HTTP,
 * headers too large) with an empty 400/431; this one sends the same status with a body in OpenAI's
 * error shape, so every client-facing error parses the same way. Nothing of the request is echoed.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  // The connection is gone, or a response already started on it: nothing can be said any more.
  if (err.code === 'ECONNRESET' || !socket.writable || socket.bytesWritten > 0) {
    socket.destroy();
    return;
  }
  const [status, reason, message, code] = ANSWERS[err.code ?? ''] ?? MALFORMED;
  const body = JSON.stringify(errorBody(message, 'invalid_request_error', code));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
