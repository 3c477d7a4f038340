import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The server tests run against: the machine's real Postgres (trust auth on 127.0.0.1:5432). */
export const TEST_SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * The run's migrated template (made once by the global setup): copying it takes a fraction of
 * the time that running every migration on an empty database does, for each of the many files
 * that boot the api.
 */
export const TEMPLATE_DB_ENV = 'KEYVAULT_TEST_TEMPLATE_DB';

/** A database name the global setup's stale sweep recognises (kv_test_<base-36 ms>_…). */
export function testDatabaseName(suffix = randomBytes(4).toString('hex')): string {
  return `kv_test_${Date.now().toString(36)}_${suffix}`;
}

export interface CreateTestDatabaseOptions {
  /**
   * Start from the run's migrated template instead of an empty database. The api still runs its
   * migrations at start and finds none pending. Tests of migrations themselves (on an empty
   * database, or two instances racing to apply them) keep the default.
   */
  migrated?: boolean;
}

/** A fresh database per test file (empty by default), so files run in parallel and leave nothing behind. */
export async function createTestDatabase(options: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  const name = testDatabaseName();
  const template = options.migrated ? process.env[TEMPLATE_DB_ENV] : undefined;
  const admin = new Client({ connectionString: TEST_SERVER_URL });
  await admin.connect();
  try {
    await admin.query(template ? `CREATE DATABASE ${name} TEMPLATE ${template}` : `CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(TEST_SERVER_URL, name),
    name,
    async drop() {
      const c = new Client({ connectionString: TEST_SERVER_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Runs one query on its own short-lived connection (for assertions on stored rows). */
export async function queryDb<T = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}
