import { RequestMethod } from '@nestjs/common';
import type { Params } from 'nestjs-pino';
import { destination } from 'pino';
import type { Options } from 'pino-http';
import { REDACT_PATHS, urlWithoutQueryValues } from './redaction';

/**
 * Structured JSON logs (pino) with redaction, shared by both apps: to stdout, or appended to
 * `file` (LOG_FILE) with synchronous writes, so no line is lost when the process stops.
 */
export function loggerParams(level: string, name: string, file?: string): Params {
  const options: Options = {
    level,
    name,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    autoLogging: { ignore: (req) => ['/healthz', '/readyz', '/metrics'].includes((req.url ?? '').split('?')[0]) },
    serializers: {
      req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({
        id: req.id,
        method: req.method,
        url: urlWithoutQueryValues(req.url),
        remote_address: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
    },
  };
  return { pinoHttp: file ? [options, destination({ dest: file, sync: true, mkdir: true, append: true })] : options };
}

/** Probes and scrapes: never logged per request (LoggerModule `exclude`). */
export const OPS_ROUTES = ['healthz', 'readyz', 'metrics'].map((path) => ({ path, method: RequestMethod.ALL }));
