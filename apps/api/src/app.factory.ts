import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from 'nestjs-pino';
import { parse as parseQuery } from 'qs';
import type { ApiConfig } from '@keyvault/config';
import { dataSourceOptions, runMigrations } from '@keyvault/db';
import { answerClientError, KeyvaultError, KeyvaultExceptionFilter, keyvaultValidationPipe } from '@keyvault/errors';
import { FrameworkQuietLogger, mountOpenApi } from '@keyvault/observability';
import { AppModule } from './app.module';
import { answerWithETags } from './etag';
import { parseJsonBodiesAsBodyParser } from './json-body';

const API_DESCRIPTION =
  'Operators manage tenants, credential profiles and vault keys; backends issue one vault key per chat.';

const BODY_LIMIT_BYTES = 1024 * 1024;

/** Builds the api (used by main.ts and by the tests, so both run the same wiring). */
export async function createApiApp(config: ApiConfig): Promise<INestApplication> {
  // Before the app connects: migrations run as the login (the tables' owner), and the role the
  // app's connections switch to (KEYVAULT_API_DB_ROLE) exists only once they have run.
  await runMigrations(dataSourceOptions({ url: config.DATABASE_URL, applicationName: 'keyvault-migrate' }));
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    clientErrorHandler: answerClientError,
    // The router refuses a URL it cannot decode (a bad %-escape) before any hook or filter runs.
    // The URL is not echoed: it may carry a secret.
    frameworkErrors: (_error: FastifyError, _req: FastifyRequest, reply: FastifyReply) => {
      const e = new KeyvaultError('parameter_invalid', 'The URL is not valid.');
      void reply.code(e.status).send(e.toBody());
    },
    // Node's own defaults, which Fastify overrides (72 s keep-alive, no request timeout)
    keepAliveTimeout: 5_000,
    requestTimeout: 300_000,
    routerOptions: {
      // as Express routes: /tenants/ and /TENANTS are /tenants, and a path id has no length
      // limit of its own (Node's header size limit bounds the URL)
      ignoreTrailingSlash: true,
      caseSensitive: false,
      maxParamLength: 64 * 1024,
      // qs, as Express's "extended" query parser, so that metadata[k]=v is an object
      querystringParser: (s) => parseQuery(s, { allowPrototypes: true }),
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(new FrameworkQuietLogger(app.get(Logger)));
  parseJsonBodiesAsBodyParser(app.getHttpAdapter().getInstance(), BODY_LIMIT_BYTES);
  answerWithETags(app.getHttpAdapter().getInstance());
  // Postgres text cannot hold NUL: a %00 in the URL is refused before any route, rather than
  // where a query fails (an audit export has already sent its status by then).
  app.getHttpAdapter().getInstance().addHook('onRequest', (req: FastifyRequest, _reply, done) =>
    done(req.url.includes('%00') ? new KeyvaultError('parameter_invalid', 'The URL contains an encoded NUL (%00).') : undefined),
  );
  app.useGlobalPipes(keyvaultValidationPipe());
  app.useGlobalFilters(new KeyvaultExceptionFilter());
  mountOpenApi(app, 'Keyvault API', API_DESCRIPTION);
  app.enableShutdownHooks();
  await app.init();
  // Fastify serves only once ready: without it, getHttpServer() (what supertest is given) would not answer
  await app.getHttpAdapter().getInstance().ready();
  return app;
}
