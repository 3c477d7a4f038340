import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { Logger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import type { ApiConfig } from '@keyvault/config';
import { runMigrations } from '@keyvault/db';
import { answerClientErrors, KeyvaultError, KeyvaultExceptionFilter, keyvaultValidationPipe, toKeyvaultError } from '@keyvault/errors';
import { mountOpenApi } from '@keyvault/observability';
import { AppModule } from './app.module';

const API_DESCRIPTION =
  'Operators manage tenants, credential profiles and vault keys; backends issue one vault key per chat.';

/** Builds the api (used by main.ts and by the tests, so both run the same wiring). */
export async function createApiApp(config: ApiConfig): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  app.set('query parser', 'extended');
  app.useBodyParser('json', { limit: '1mb' });
  // Postgres text cannot hold NUL: a %00 in the URL is refused before any route, rather than
  // where a query fails (an audit export has already sent its status by then).
  app.use((req: Request, _res: Response, next: NextFunction) =>
    next(req.url.includes('%00') ? new KeyvaultError('parameter_invalid', 'The URL contains an encoded NUL (%00).') : undefined),
  );
  app.useGlobalPipes(keyvaultValidationPipe());
  app.useGlobalFilters(new KeyvaultExceptionFilter());
  mountOpenApi(app, 'Keyvault API', API_DESCRIPTION);
  app.enableShutdownHooks();
  answerClientErrors(app.getHttpServer());
  await runMigrations(app.get(DataSource));
  await app.init();
  // Errors raised by Express middleware (body parsing) never reach Nest's filters.
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const e = toKeyvaultError(err);
    res.status(e.status).json(e.toBody());
  });
  return app;
}
