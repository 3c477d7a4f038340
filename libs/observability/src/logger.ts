import type { Params } from 'nestjs-pino';
import { REDACT_PATHS, urlWithoutQueryValues } from './redaction';

/** Structured JSON logs (pino) with redaction, shared by both apps. */
export function loggerParams(level: string, name: string): Params {
  return {
    pinoHttp: {
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
    },
  };
}
