import { DataSource, type DataSourceOptions } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

/** Arbitrary constant: the advisory lock that serialises migrations across instances. */
const MIGRATION_LOCK = 4_815_162_342;

/**
 * Applies pending migrations under a Postgres advisory lock, so two api instances starting
 * together do not race; the second waits, then finds nothing to do. They run as the login
 * itself (the tables' owner), never as a role the apps switch to for serving
 * (KEYVAULT_API_DB_ROLE, KEYVAULT_PROXY_DB_ROLE): that role owns nothing and may not exist
 * before the first migration creates it.
 */
export async function runMigrations(source: DataSource | DataSourceOptions): Promise<string[]> {
  // Its own connections without the request-path query timeout: building an index on a table
  // of millions of rows takes longer than any request should.
  const options = (source instanceof DataSource ? source.options : source) as DataSourceOptions & { extra?: Record<string, unknown> };
  const migrator = await new DataSource({
    ...options,
    extra: { ...options.extra, max: 2, query_timeout: undefined, options: undefined },
  } as DataSourceOptions).initialize();
  const runner = migrator.createQueryRunner();
  try {
    await runner.connect();
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await migrator.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
    await migrator.destroy();
  }
}

/** `npm run migrate`: applies pending migrations to DATABASE_URL and exits. */
async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('Invalid configuration: DATABASE_URL is required\n');
    process.exit(78);
  }
  const ds = await new DataSource(dataSourceOptions({ url, poolSize: 2, applicationName: 'keyvault-migrate' })).initialize();
  try {
    const applied = await runMigrations(ds);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'no pending migrations\n');
  } finally {
    await ds.destroy();
  }
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`migration failed: ${err.message}\n`);
    process.exit(1);
  });
}
