import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@keyvault/testing';
import { dataSourceOptions } from './data-source-options';
import { runMigrations } from './migrate';

const root = join(__dirname, '../../..');

describe('migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it('apply once, concurrently from two instances, and leave entities with nothing to generate', async () => {
    const a = await new DataSource(dataSourceOptions({ url: db.url, poolSize: 2 })).initialize();
    const b = await new DataSource(dataSourceOptions({ url: db.url, poolSize: 2 })).initialize();
    try {
      const [ra, rb] = await Promise.all([runMigrations(a), runMigrations(b)]);
      // Under the advisory lock one instance applies everything and the other finds nothing.
      expect([...ra, ...rb].sort()).toEqual([...new Set([...ra, ...rb])].sort());
      expect(ra.length === 0 || rb.length === 0).toBe(true);
    } finally {
      await a.destroy();
      await b.destroy();
    }
    // typeorm's own drift check, on the compiled data source (exit 0: entities match migrations)
    const r = spawnSync(
      process.execPath,
      [join(root, 'node_modules/typeorm/cli.js'), 'migration:generate', '--check', '-d', join(root, 'dist/apps/api/libs/db/src/data-source.js'), join(root, 'libs/db/src/migrations/Drift')],
      { env: { ...process.env, DATABASE_URL: db.url }, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.stdout + r.stderr).not.toMatch(/Unexpected changes/);
    expect(r.status).toBe(0);
  });
});
