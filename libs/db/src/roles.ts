import { Client } from 'pg';

/**
 * The roles Keyvault's apps switch to (docs/database-roles.md). All are NOLOGIN: a login (the
 * tables' owner, or one per app) is made a member and switches at connect.
 */
export const KEYVAULT_ROLES = [
  { name: 'keyvault_api', attributes: 'NOLOGIN NOINHERIT', why: 'the api: owns nothing, confined to one tenant per transaction' },
  { name: 'keyvault_worker', attributes: 'NOLOGIN', why: "the api's background work across tenants (webhook deliveries, retention, API-key lookup)" },
  { name: 'keyvault_proxy', attributes: 'NOLOGIN', why: 'the proxy: reads keys and credentials, writes spend and audit' },
  { name: 'keyvault_tenant', attributes: 'NOLOGIN', why: 'named by the first tenant policies' },
] as const;

/**
 * Creates the roles that are missing and lets `login` (default: the connected one) switch to
 * them; keyvault_api may switch to keyvault_worker. Idempotent: a second run changes nothing.
 * Returns one line per step, saying what it did or found. Needs a login that may create roles
 * (a superuser, or CREATEROLE).
 */
export async function ensureRoles(client: Client, login?: string): Promise<string[]> {
  const done: string[] = [];
  const [{ me, superuser }] = (await client.query(`SELECT current_user AS me, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`)).rows;
  const member = login ?? (me as string);
  if ((await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [member])).rowCount === 0) {
    throw new Error(`login ${member} does not exist: create it first (CREATE ROLE ${member} LOGIN PASSWORD '...')`);
  }
  for (const role of KEYVAULT_ROLES) {
    const exists = (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role.name])).rowCount! > 0;
    if (exists) {
      done.push(`role ${role.name}: exists`);
    } else {
      try {
        await client.query(`CREATE ROLE ${role.name} ${role.attributes}`);
        done.push(`role ${role.name}: created (${role.why})`);
      } catch (err) {
        // another process created it meanwhile
        if ((err as { code?: string }).code !== '42710') throw err;
        done.push(`role ${role.name}: exists`);
      }
    }
  }
  done.push(await grant(client, 'keyvault_worker', 'keyvault_api'));
  const memberIsSuperuser = member === me ? superuser : (await client.query('SELECT rolsuper FROM pg_roles WHERE rolname = $1', [member])).rows[0]?.rolsuper;
  if (memberIsSuperuser) {
    done.push(`login ${member}: a superuser, may switch to every role already`);
  } else {
    for (const role of KEYVAULT_ROLES) done.push(await grant(client, role.name, member));
  }
  return done;
}

async function grant(client: Client, role: string, to: string): Promise<string> {
  const { rows } = await client.query(`SELECT pg_has_role($1, $2, 'MEMBER') AS member`, [to, role]);
  if (rows[0].member) return `${to} may switch to ${role}: already`;
  await client.query(`GRANT ${role} TO ${client.escapeIdentifier(to)}`);
  return `${to} may switch to ${role}: granted`;
}

/** `npm run db:roles [-- --login NAME]`: run once per database server, as a role that may create roles. */
async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('Invalid configuration: DATABASE_URL is required (a login that may create roles)\n');
    process.exit(78);
  }
  const i = process.argv.indexOf('--login');
  const login = i > 0 ? process.argv[i + 1] : undefined;
  if (i > 0 && !login) {
    process.stderr.write('--login needs the name of the login the apps connect as\n');
    process.exit(64);
  }
  const client = new Client({ connectionString: url, application_name: 'keyvault-db-roles' });
  await client.connect();
  try {
    for (const line of await ensureRoles(client, login)) process.stdout.write(`${line}\n`);
  } finally {
    await client.end();
  }
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`db:roles failed: ${err.message}\n`);
    process.exit(1);
  });
}
