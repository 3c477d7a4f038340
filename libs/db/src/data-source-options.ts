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
      ...(role ? { options: roleStartupOptions(role) } : {}),
    },
  };
}
