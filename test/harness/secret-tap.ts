import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { registerExchangeSecrets } from '@keyvault/testing';

/**
 * Watches every exchange an api server completes and registers the secrets of the successful
 * ones (provider keys sent, API keys, vault keys and webhook secrets answered), so the run's
 * log scan looks for each of them whichever test created it and however (supertest, fetch, SDK).
 */
export function tapCreatedSecrets(server: Server): void {
  copyFastifyBodies();
  server.on('request', (req: IncomingMessage & { body?: unknown }, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    const keep = (chunk: unknown) => {
      if (typeof chunk === 'string') chunks.push(Buffer.from(chunk));
      else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
    };
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      keep(chunk);
      return write(chunk, ...rest);
    }) as ServerResponse['write'];
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      if (typeof chunk !== 'function') keep(chunk);
      return end(chunk, ...rest);
    }) as ServerResponse['end'];
    res.on('finish', () => {
      if (res.statusCode < 200 || res.statusCode >= 300) return;
      // Fastify passes its headers to writeHead, where getHeader() does not see them: any body
      // that parses as JSON is read (HTML, CSV and the rest do not)
      let answer: unknown = null;
      try {
        answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        answer = null;
      }
      registerExchangeSecrets(req.body, answer);
    });
  });
}

let copying = false;

/**
 * Fastify keeps the parsed body on its own request object, not on Node's, which the tap reads:
 * it is copied there as each handler starts (Fastify's tracing channel, once per process).
 */
function copyFastifyBodies(): void {
  if (copying) return;
  copying = true;
  subscribe('tracing:fastify.request.handler:start', (message) => {
    const { request } = message as { request: FastifyRequest };
    (request.raw as IncomingMessage & { body?: unknown }).body = request.body;
  });
}
