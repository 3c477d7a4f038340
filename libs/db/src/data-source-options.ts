import type { DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

export interface DbOptions {
  url: string;
  poolSize?: number;
  /** application_name, visible in pg_stat_activity */
  applicationName?: string;
}

/** One definition of the connection for both apps, the tests and the migration CLI. */
export function dataSourceOptions({ url, poolSize = 10, applicationName = 'keyvault' }: DbOptions): DataSourceOptions {
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
    },
  };
}
