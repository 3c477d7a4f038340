import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import type { ProxyConfig } from '@keyvault/config';
import { KeyvaultExceptionFilter } from '@keyvault/errors';
import { ProxyModule } from './proxy.module';

/** Builds the proxy (used by main.ts and the tests). It never changes the schema. */
export async function createProxyApp(config: ProxyConfig): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(ProxyModule.forRoot(config), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  app.useGlobalFilters(new KeyvaultExceptionFilter());
  app.enableShutdownHooks();
  await app.init();
  return app;
}
