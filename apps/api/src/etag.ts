import etag from 'etag';
import type { FastifyInstance } from 'fastify';
import fresh from 'fresh';

/**
 * What Express's res.send did for every body: a weak ETag, and a 304 without a body to a GET or
 * HEAD whose If-None-Match already names it. Streamed bodies (console files, audit export) are
 * left alone, as Express left them to send.
 */
export function answerWithETags(fastify: FastifyInstance): void {
  fastify.addHook('onSend', (req, reply, payload, done) => {
    if (typeof payload !== 'string' || reply.hasHeader('etag')) return done(null, payload);
    const tag = etag(payload, { weak: true });
    reply.header('ETag', tag);
    const ok = (reply.statusCode >= 200 && reply.statusCode < 300) || reply.statusCode === 304;
    if ((req.method === 'GET' || req.method === 'HEAD') && ok && fresh(req.headers, { etag: tag })) {
      reply.code(304).removeHeader('content-type');
      return done(null, null);
    }
    done(null, payload);
  });
}
