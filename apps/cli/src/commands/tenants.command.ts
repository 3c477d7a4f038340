import type { Command } from 'commander';
import type { Tenant } from '@keyvault/client';
import { usdText } from '@keyvault/policy';
import { capValue, contextFor, intOption, usdCapOption } from '../context';
import type { Column } from '../output';

const COLUMNS: Column<Tenant>[] = [
  { header: 'ID', value: (t) => t.id },
  { header: 'NAME', value: (t) => t.name },
  { header: 'SLUG', value: (t) => t.slug },
  { header: 'STATUS', value: (t) => t.status },
  { header: 'MAX TTL', value: (t) => t.max_vault_key_ttl },
  { header: 'THIS MONTH', value: (t) => `$${usdText(t.spent_this_month_usd)}${t.monthly_usd_cap == null ? '' : ` / $${usdText(t.monthly_usd_cap)}`}` },
  { header: 'CREATED', value: (t) => t.created_at },
];

export function registerTenants(program: Command): void {
  const tenants = program.command('tenants').description('tenants, one per client of yours (platform admin token)');

  tenants
    .command('list')
    .description('list tenants, newest first')
    .option('--limit <n>', 'how many (1-100)', intOption('--limit', 1, 100))
    .option('--starting-after <id>', 'the last id of the previous page')
    .action(async (o: { limit?: number; startingAfter?: string }, cmd: Command) => {
      const { client, out } = contextFor(cmd);
      const page = await client.tenants.list({ limit: o.limit, starting_after: o.startingAfter });
      out.table(page.data, COLUMNS);
      if (page.has_more) out.note(`more: --starting-after ${page.data[page.data.length - 1].id}`);
    });

  tenants
    .command('create')
    .description('create a tenant')
    .argument('<name>', 'display name, e.g. "Client A"')
    .option('--slug <slug>', 'lowercase letters, digits and dashes (derived from the name when absent)')
    .option('--max-vault-key-ttl <duration>', 'longest expires_in of its vault keys, e.g. 7d (default 30d)')
    .option('--monthly-usd-cap <usd>', 'what all its vault keys may spend together per calendar month (UTC)', usdCapOption('--monthly-usd-cap'))
    .option('--idempotency-key <key>', 'retry-safe: the same key returns the first result')
    .action(async (name: string, o: { slug?: string; maxVaultKeyTtl?: string; monthlyUsdCap?: number; idempotencyKey?: string }, cmd: Command) => {
      const { client, out } = contextFor(cmd);
      const tenant = await client.tenants.create(
        { name, slug: o.slug, max_vault_key_ttl: o.maxVaultKeyTtl, ...(o.monthlyUsdCap != null ? { monthly_usd_cap: o.monthlyUsdCap } : {}) },
        { idempotencyKey: o.idempotencyKey },
      );
      out.record(tenant);
    });

  tenants
    .command('show')
    .description("show a tenant, with what its vault keys spent this month against its monthly cap")
    .argument('<id>', 'tenant id (ten_...)')
    .action(async (id: string, _o: object, cmd: Command) => {
      const { client, out } = contextFor(cmd);
      out.record(await client.tenants.get(id));
    });

  tenants
    .command('set-cap')
    .description('set or remove the monthly budget of all its vault keys together (refused with 429 tenant_cap_exceeded beyond)')
    .argument('<id>', 'tenant id (ten_...)')
    .requiredOption('--monthly-usd-cap <usd>', "per calendar month (UTC), e.g. 5000; 'none' removes it", usdCapOption('--monthly-usd-cap', true))
    .action(async (id: string, o: { monthlyUsdCap: number | 'none' }, cmd: Command) => {
      const { client, out } = contextFor(cmd);
      out.record(await client.tenants.update(id, { monthly_usd_cap: capValue(o.monthlyUsdCap) }));
    });

  for (const [verb, description] of [
    ['disable', 'disable a tenant: its vault keys stop working at once'],
    ['enable', 'enable a disabled tenant again'],
  ] as const) {
    tenants
      .command(verb)
      .description(description)
      .argument('<id>', 'tenant id (ten_...)')
      .action(async (id: string, _o: object, cmd: Command) => {
        const { client, out } = contextFor(cmd);
        out.record(await client.tenants[verb](id));
      });
  }
}
