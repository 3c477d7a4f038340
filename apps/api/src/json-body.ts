import type { FastifyInstance, FastifyRequest } from 'fastify';
import { brotliDecompressSync, gunzipSync, inflateSync, type ZlibOptions } from 'node:zlib';
import { KeyvaultError } from '@keyvault/errors';

const INFLATE: Record<string, (body: Buffer, options: ZlibOptions) => Buffer> = {
  gzip: gunzipSync,
  deflate: inflateSync,
  br: brotliDecompressSync,
};
const UTF8 = new TextDecoder('utf-8');

/**
 * JSON bodies read as Express's body-parser read them (the api's contract was set there): only
 * application/json is parsed, strictly (an object or an array), in a UTF charset, inflated when
 * compressed, an empty body is {}, and the limit applies to the inflated body. Any other content
 * type is left unread: the body is then undefined, and validation answers.
 */
export function parseJsonBodiesAsBodyParser(fastify: FastifyInstance, limit: number): void {
  fastify.removeAllContentTypeParsers();
  // Fastify's own limit counts the bytes on the wire; body-parser's, the inflated ones (below)
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: limit }, (req, body: Buffer, done) => {
    try {
      done(null, parseJson(decode(inflate(req, body, limit), req)));
    } catch (err) {
      done(err as KeyvaultError, undefined);
    }
  });
  fastify.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
}

function inflate(req: FastifyRequest, body: Buffer, limit: number): Buffer {
  const encoding = req.headers['content-encoding']?.toLowerCase() ?? 'identity';
  if (encoding === 'identity') return body;
  const inflater = INFLATE[encoding];
  if (!inflater) throw new KeyvaultError('parameter_invalid', 'Unsupported request body encoding.');
  try {
    return inflater(body, { maxOutputLength: limit });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new KeyvaultError('request_too_large', 'Request body is too large.');
    throw new KeyvaultError('invalid_json', 'Request body is not valid JSON.');
  }
}

function decode(body: Buffer, req: FastifyRequest): string {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase() ?? 'utf-8';
  if (charset === 'utf-8') return UTF8.decode(body);
  // body-parser takes the utf-* charsets only
  if (charset.startsWith('utf-')) {
    try {
      return new TextDecoder(charset).decode(body);
    } catch {
      // not a charset this runtime knows
    }
  }
  throw new KeyvaultError('parameter_invalid', 'Unsupported request body encoding.');
}

function parseJson(text: string): unknown {
  if (text.length === 0) return {};
  const first = /^[\x20\x09\x0a\x0d]*(.)/s.exec(text)?.[1];
  try {
    if (first !== '{' && first !== '[') throw new SyntaxError('not an object or array');
    return JSON.parse(text);
  } catch {
    throw new KeyvaultError('invalid_json', 'Request body is not valid JSON.');
  }
}
