import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { KeyvaultError } from './keyvault-error';

/**
 * Requests Node's HTTP parser refuses before any handler runs (headers over `maxHeaderSize`, a
 * malformed request line, a request too slow to arrive) get the contract's JSON error body
 * instead of Node's bare status line. There is no response object at that stage, so the answer
 * is written to the socket directly, and the connection is closed: the parser's state is lost.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', answerClientError);
}

/** The `clientError` listener itself, for a framework that takes it as an option (Fastify's `clientErrorHandler`). */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const busy = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (err.code === 'ECONNRESET' || !socket.writable || busy) return void socket.destroy();
  const error = clientErrorOf(err);
  const body = JSON.stringify(error.toBody());
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

function clientErrorOf(err: NodeJS.ErrnoException): KeyvaultError {
  if (err.code === 'HPE_HEADER_OVERFLOW') return new KeyvaultError('headers_too_large', 'Request headers are too large.');
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new KeyvaultError('request_timeout', 'The request did not arrive in time.');
  return new KeyvaultError('malformed_request', 'The request is not valid HTTP.');
}
