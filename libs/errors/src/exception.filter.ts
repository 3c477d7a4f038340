import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import type { FastifyReply } from 'fastify';
import { isDatabaseUnavailable } from './database-unavailable';
import { KeyvaultError } from './keyvault-error';

/**
 * Shapes every error body (Stripe style). Known errors keep their code; body-parser and Nest
 * errors are mapped to codes; an unreachable database is a 503 vault_unavailable; anything else
 * becomes a 500 with an error id that is also logged, so an operator can find the log line from
 * the body. No stack trace or secret reaches a client.
 */
@Catch()
export class KeyvaultExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    // The api runs on Fastify (a reply wrapping Node's response), the proxy on Express (Node's response itself)
    const res = host.switchToHttp().getResponse<Response | FastifyReply>();
    const error = toKeyvaultError(exception);
    let errorId: string | undefined;
    if (error.code === 'internal_error') {
      errorId = `err_${randomUUID().replace(/-/g, '')}`;
      const err = exception instanceof Error ? exception : new Error(String(exception));
      this.logger.error({ error_id: errorId, err: { name: err.name, message: err.message, stack: err.stack } }, 'unhandled error');
    }
    const raw = 'raw' in res ? res.raw : res;
    if (raw.headersSent) {
      raw.destroy();
      return;
    }
    if ('raw' in res) {
      res.code(error.status).headers(error.headers ?? {}).send(error.toBody(errorId));
      return;
    }
    if (error.headers) for (const [k, v] of Object.entries(error.headers)) res.setHeader(k, v);
    res.status(error.status).json(error.toBody(errorId));
  }
}

export function toKeyvaultError(exception: unknown): KeyvaultError {
  if (exception instanceof KeyvaultError) return exception;
  // Nest wraps body-parser errors in an HttpException whose cause carries the parser's `type`
  const cause = (exception as { cause?: unknown } | undefined)?.cause;
  const e = ((cause as { type?: string })?.type ? cause : exception) as { type?: string } | undefined;
  // body-parser errors carry a `type`
  if (e?.type === 'entity.too.large') return new KeyvaultError('request_too_large', 'Request body is too large.');
  if (e?.type === 'entity.parse.failed') return new KeyvaultError('invalid_json', 'Request body is not valid JSON.');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported')
    return new KeyvaultError('parameter_invalid', 'Unsupported request body encoding.');
  if (isUnstorableText(exception)) return new KeyvaultError('parameter_invalid', 'A value in the request contains a character that cannot be stored (such as NUL).');
  if (isDatabaseUnavailable(exception)) return new KeyvaultError('vault_unavailable', 'The vault database is unreachable; try again shortly.');
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 404) return new KeyvaultError('route_not_found', 'Unrecognized request URL.');
    if (status === 503) return new KeyvaultError('vault_unavailable', 'The vault database is unreachable.');
    if (status === 413) return new KeyvaultError('request_too_large', 'Request body is too large.');
    if (status === 401) return new KeyvaultError('invalid_api_key', 'Invalid API key provided.');
    if (status === 403) return new KeyvaultError('insufficient_scope', 'Not allowed.');
    if (status >= 400 && status < 500) return new KeyvaultError('parameter_invalid', exception.message);
  }
  return new KeyvaultError('internal_error', 'An unexpected error occurred.');
}

/**
 * Postgres refuses NUL bytes and invalid characters in text (22021, 22P05) whatever the query:
 * such a value came from the request (an id in the path, a name in the body), so it is the
 * caller's error, found where it is stored or compared.
 */
function isUnstorableText(exception: unknown): boolean {
  const code = (exception as { driverError?: { code?: unknown } } | undefined)?.driverError?.code;
  return code === '22021' || code === '22P05';
}
