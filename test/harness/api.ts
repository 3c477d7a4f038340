import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import type { ApiConfig } from '@keyvault/config';
import { createApiApp } from '../../apps/api/src/app.factory';
import { createTestDatabase, type TestDatabase } from '@keyvault/testing';
import { testApiConfig } from '@keyvault/testing';
import { tapCreatedSecrets } from './secret-tap';

export interface ApiHarness {
  app: INestApplication;
  config: ApiConfig;
  db: TestDatabase;
  http: TestAgent;
  /** supertest with the admin token already set */
  admin: () => { get: (p: string) => request.Test; post: (p: string) => request.Test; patch: (p: string) => request.Test; delete: (p: string) => request.Test };
  close(): Promise<void>;
}

export interface StartApiOptions {
  /** the URL the api connects with, from the fresh database's own (e.g. through a TCP relay) */
  connectVia?: (databaseUrl: string) => string;
  /** a database of the test's own (e.g. on a private cluster) instead of a fresh one on the shared server */
  database?: TestDatabase;
}

/**
 * Boots the real api (migrations included) on a fresh database. Every secret it is seen to
 * create is registered for the run's log scan, and its logs go to the run's log file.
 */
export async function startApi(overrides: Record<string, string> = {}, options: StartApiOptions = {}): Promise<ApiHarness> {
  const db = options.database ?? (await createTestDatabase({ migrated: true }));
  const config = testApiConfig(options.connectVia ? options.connectVia(db.url) : db.url, overrides);
  const app = await createApiApp(config);
  tapCreatedSecrets(app.getHttpServer());
  await app.listen(0, '127.0.0.1');
  const http = request(app.getHttpServer());
  const auth = `Bearer ${config.KEYVAULT_ADMIN_TOKEN}`;
  return {
    app,
    config,
    db,
    http,
    admin: () => ({
      get: (p) => http.get(p).set('Authorization', auth),
      post: (p) => http.post(p).set('Authorization', auth),
      patch: (p) => http.patch(p).set('Authorization', auth),
      delete: (p) => http.delete(p).set('Authorization', auth),
    }),
    async close() {
      await app.close();
      await db.drop();
    },
  };
}
