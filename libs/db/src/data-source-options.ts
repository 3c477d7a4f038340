import type { DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

export interface DbOptions {
  url: string;
  poolSize?: number;
  /** application_name, visible in pg_stat_activity */
  applicationName?: string;
  /** a role every connection switches to (SET ROLE at connect), e.g. the proxy's keyvault_proxy */
  role?: string;
}

/** The libpq startup options that switch a connection to `role` (none for no role). */
export function roleStartupOptions(role: string | undefined): string | undefined {
  if (!role) return undefined;
  if (!/^[a-z_][a-z0-9_]*$/.test(role)) throw new Error(`not a plain role name: ${role}`);
  return `-c role=${role}`;
}

/**
 * The libpq startup options of every app connection: `settings` (`-c name=value`), the switch to
 * `role`, and JIT off. On the partitioned audit table a plan holds a node per day partition, so
 * the estimated cost of statements that run in milliseconds passes jit_above_cost, and Postgres
 * compiled hundreds of functions for them first (a lease reconciliation at 10 M audit rows: 39 s
 * of JIT for 110 ms of work, docs/audit-query-plans.md). The apps' statements never gain from it.
 */
export function connectionStartupOptions(role?: string, ...settings: string[]): string {
  return ['-c jit=off', ...settings, roleStartupOptions(role)].filter(Boolean).join(' ');
}

/** One definition of the connection for both apps, the tests and the migration CLI. */
export function dataSourceOptions({ url, poolSize = 10, applicationName = 'keyvault', role }: DbOptions): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    applicationName,
    extra: {
      max: poolSize,
      connectionTimeoutMillis: 3000,
      // A vault that cannot reach its database must answer fast (fail closed), not hang.
      query_timeout: 10_000,
      keepAlive: true,
      options: connectionStartupOptions(role),
    },
  };
}
