import type { Command } from 'commander';
import type { ApiKey, CreateApiKeyParams } from '@keyvault/client';
import { collect, contextFor, intOption } from '../context';
import type { Column } from '../output';

const COLUMNS: Column<ApiKey>[] = [
  { header: 'ID', value: (k) => k.id },
  { header: 'NAME', value: (k) => k.name },
  { header: 'SCOPES', value: (k) => k.scopes },
  { header: 'LAST USED', value: (k) => k.last_used_at },
  { header: 'CREATED', value: (k) => k.created_at },
];

export function registerApiKeys(program: Command): void {
  const keys = program.command('api-keys').description("a tenant's API keys, for your backends (platform admin token)");

  keys
    .command('create')
    .description('create an API key; the key is shown once')
    .argument('<tenant>', 'tenant id (ten_...)')
    .requiredOption('--name <name>', 'what uses it, e.g. "chat backend"')
    .option('--scope <scope>', 'repeat for each scope, e.g. --scope vault_keys:issue (default: every scope)', collect)
    .action(async (tenant: string, o: { name: string; scope?: string[] }, cmd: Command) => {
      const { client, out } = contextFor(cmd);
      // the api validates each scope and names a wrong one
      const created = await client.apiKeys.create(tenant, { name: o.name, scopes: o.scope as CreateApiKeyParams['scopes'] });
      out.record(created);
      out.note('\nThe api_key above is shown only once: store it in your backend\'s secrets now.');
    });

  keys
    .command('list')
    .description("list a tenant's API keys")
    .argument('<tenant>', 'tenant id (ten_...)')
    .option('--limit <n>', 'how many (1-100)', intOption('--limit', 1, 100))
    .action(async (tenant: string, o: { limit?: number }, cmd: Command) => {
      const { client, out } = contextFor(cmd);
      out.table((await client.apiKeys.list(tenant, { limit: o.limit })).data, COLUMNS);
    });

  keys
    .command('delete')
    .description('delete an API key; it fails on its next use')
    .argument('<tenant>', 'tenant id (ten_...)')
    .argument('<key>', 'API key id (tak_...)')
    .action(async (tenant: string, key: string, _o: object, cmd: Command) => {
      const { client, out } = contextFor(cmd);
      out.record(await client.apiKeys.delete(tenant, key));
    });
}
