import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { testApiConfig } from '@keyvault/testing';
import { createApiApp } from '../../src/app.factory';
import { tapCreatedSecrets } from '../../../../test/harness/secret-tap';

/**
 * Another api instance on an existing database (the harness always makes a fresh one): pass the
 * first instance's master key and admin token in `env`, so it can open what that one sealed.
 */
export async function bootApi(dbUrl: string, env: Record<string, string>) {
  const config = testApiConfig(dbUrl, env);
  const app: INestApplication = await createApiApp(config);
  tapCreatedSecrets(app.getHttpServer());
  await app.listen(0, '127.0.0.1');
  return { app, config, http: request(app.getHttpServer()), close: () => app.close() };
}
