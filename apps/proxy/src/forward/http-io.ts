import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { VENDORS } from '@keyvault/config';
import { KeyvaultError } from '@keyvault/errors';
import { normalizeRequestPath } from '@keyvault/policy';
import type { HeaderTest } from '../vendors/header-allowlist';
import type { OutgoingHeaders } from '../vendors/vendor-adapter';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and what never leaves in either direction. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
/**
 * Client headers never forwarded, whatever an allowlist says: the vault key's carriers,
 * Keyvault's context headers, and what the proxy recomputes.
 */
const NOT_FORWARDED = new Set([
  ...HOP_BY_HOP, 'host', 'content-length', 'expect', 'authorization', 'x-api-key',
  'x-run-id', 'x-dify-workflow-run-id', 'x-conversation-id',
  'x-vault-key-id',
]);
const NOT_RETURNED = new Set(HOP_BY_HOP);

/** The client's headers the adapter's allowlist lets upstream (the adapter then adds the real key). */
export function upstreamHeaders(incoming: IncomingHttpHeaders, allowed: HeaderTest): OutgoingHeaders {
  const out: OutgoingHeaders = {};
  const listed = incoming.connection ? incoming.connection.toLowerCase().split(',').map((s) => s.trim()) : [];
  for (const name in incoming) {
    if (allowed(name) && !NOT_FORWARDED.has(name) && !listed.includes(name)) out[name] = incoming[name];
  }
  return out;
}

/** The upstream's response headers the adapter's allowlist lets back to the client. */
export function clientHeaders(upstream: IncomingHttpHeaders, bodyRewritten: boolean, allowed: HeaderTest): OutgoingHeaders {
  const out: OutgoingHeaders = {};
  for (const name in upstream) {
    if (allowed(name) && !NOT_RETURNED.has(name) && !(bodyRewritten && name === 'content-length')) out[name] = upstream[name];
  }
  return out;
}

/** A context header's value for the audit row (bounded), or null. */
export function contextHeader(headers: IncomingHttpHeaders, ...names: string[]): string | null {
  for (const name of names) {
    const v = headers[name];
    if (typeof v === 'string' && v !== '') return v.slice(0, 200);
  }
  return null;
}

/** `/openai/v1/x` → 'openai' (for auditing calls refused before the key is known). */
export function leadingVendor(rawPath: string): string | null {
  const first = rawPath.split('/', 2)[1];
  return (VENDORS as readonly string[]).includes(first) ? first : null;
}

/**
 * The vendor path of a call: the normalised path without its `/{vendor}` prefix, or the whole
 * normalised path for the key's own vendor (SDKs that can change only host and port). A path
 * that does not normalise, or names another vendor, is refused.
 */
export function vendorPath(rawPath: string, keyVendor: string): string {
  const n = normalizeRequestPath(rawPath);
  if (!n.ok) throw new KeyvaultError('endpoint_not_allowed', `The request path was refused (${n.reason}).`);
  const slash = n.path.indexOf('/', 1);
  const first = slash < 0 ? n.path.slice(1) : n.path.slice(1, slash);
  if (!(VENDORS as readonly string[]).includes(first)) return n.path;
  if (first !== keyVendor) throw new KeyvaultError('vendor_mismatch', `This vault key is for ${keyVendor}, not ${first}.`);
  return slash < 0 ? '/' : n.path.slice(slash);
}

/** Reads the whole request body, refusing (413) as soon as it passes `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new KeyvaultError('request_too_large', `Request body is larger than ${limit} bytes.`);
  if (Number(req.headers['content-length']) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.pause();
        return reject(tooLarge());
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

/** Writes a Keyvault error body (the contract's shape); a response already under way is cut instead. */
export function sendError(res: ServerResponse, error: KeyvaultError, errorId?: string): void {
  if (res.headersSent) return void res.destroy();
  const body = JSON.stringify(error.toBody(errorId));
  res.writeHead(error.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...error.headers,
    // the unread rest of a too-large body must not be taken for the next request
    ...(error.code === 'request_too_large' ? { connection: 'close' } : {}),
  });
  res.end(body);
}

/** True for a server-sent-events answer without a declared length (one more event can be added). */
export function isEventStream(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  return typeof type === 'string' && type.toLowerCase().startsWith('text/event-stream') && headers['content-length'] === undefined;
}

/**
 * An SSE `error` event carrying the contract's error body, which the OpenAI and Anthropic SDKs
 * both raise as an error. It starts with a blank line so that an event the upstream left
 * unfinished is ended rather than merged into it.
 */
export function sseErrorEvent(error: KeyvaultError): string {
  return `\n\nevent: error\ndata: ${JSON.stringify({ type: 'error', ...error.toBody() })}\n\n`;
}
