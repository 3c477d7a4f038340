import type { Command } from 'commander';
import type { CreateCredentialParams, Credential } from '@keyvault/client';
import { usdText } from '@keyvault/policy';
import { capValue, collect, contextFor, intOption, usdCapOption, UsageError } from '../context';
import type { Column } from '../output';
import { readStdinLines } from '../stdin';

const keySummary = (c: Credential) => c.keys.map((k) => `${k.id} …${k.last4} ${k.status}`);
/** A profile for people: one line per provider key instead of its fields run together. */
const readable = (c: Credential) => ({ ...c, keys: keySummary(c) });

const COLUMNS: Column<Credential>[] = [
  { header: 'ID', value: (c) => c.id },
  { header: 'NAME', value: (c) => c.name },
  { header: 'VENDOR', value: (c) => c.vendor },
  { header: 'STRATEGY', value: (c) => c.strategy },
  { header: 'DEFAULT', value: (c) => (c.default ? 'yes' : '') },
  { header: 'KEYS', value: keySummary },
  // budgets (issue 19): spend of the period, against its cap when there is one
  { header: 'TODAY', value: (c) => `$${usdText(c.spent_today_usd)}${c.daily_usd_cap == null ? '' : ` / $${usdText(c.daily_usd_cap)}`}` },
  { header: 'THIS MONTH', value: (c) => `$${usdText(c.spent_this_month_usd)}${c.monthly_usd_cap == null ? '' : ` / $${usdText(c.monthly_usd_cap)}`}` },
];

/** Provider keys from --key flags and, with the stdin flag, from stdin (which keeps them out of ps and history). */
async function providerKeys(flags: string[] | undefined, fromStdin: boolean | undefined): Promise<string[]> {
  const keys = [...(flags ?? []), ...(fromStdin ? await readStdinLines() : [])];
  if (keys.length === 0) throw new UsageError('Give the provider key with --key, or pipe it in with --keys-from-stdin.');
  return keys;
}

export function registerCredentials(program: Command): void {
  const credentials = program
    .command('credentials')
    .description('credential profiles: the provider keys vault keys spend (a tenant key, or the admin with --tenant)');

  credentials
    .command('list')
    .description('list credential profiles (keys show only their last 4 characters)')
    .option('--limit <n>', 'how many (1-100)', intOption('--limit', 1, 100))
    .option('--starting-after <id>', 'the last id of the previous page')
    .action(async (o: { limit?: number; startingAfter?: string }, cmd: Command) => {
      const { client, out } = contextFor(cmd);
      const page = await client.credentials.list({ limit: o.limit, starting_after: o.startingAfter });
      out.table(page.data, COLUMNS);
      if (page.has_more) out.note(`more: --starting-after ${page.data[page.data.length - 1].id}`);
    });

  credentials
    .command('create')
    .description('create a credential profile holding one or more provider keys')
    .argument('<name>', 'unique in the tenant, e.g. client_a_openai')
    .requiredOption('--vendor <vendor>', 'openai, anthropic, stripe, twilio, resend or openai_compatible')
    .option('--key <key>', 'a provider key (repeat for several); prefer --keys-from-stdin', collect)
    .option('--keys-from-stdin', 'read provider keys from stdin, one per line')
    .option('--strategy <strategy>', 'round_robin (default) or failover')
    .option('--base-url <url>', 'openai_compatible: the provider\'s https base URL')
    .option('--default', "the tenant's default profile for this vendor")
    .option('--daily-usd-cap <usd>', "what all the profile's vault keys may spend together per UTC day", usdCapOption('--daily-usd-cap'))
    .option('--monthly-usd-cap <usd>', "what all the profile's vault keys may spend together per calendar month (UTC)", usdCapOption('--monthly-usd-cap'))
    .option('--idempotency-key <key>', 'retry-safe: the same key returns the first result')
    .action(async (name: string, o: CreateOptions, cmd: Command) => {
      const { client, out } = contextFor(cmd);
      const body: CreateCredentialParams = {
        name,
        vendor: o.vendor as CreateCredentialParams['vendor'],
        keys: await providerKeys(o.key, o.keysFromStdin),
        ...(o.strategy ? { strategy: o.strategy as CreateCredentialParams['strategy'] } : {}),
        ...(o.baseUrl ? { base_url: o.baseUrl } : {}),
        ...(o.default ? { default: true } : {}),
        ...(o.dailyUsdCap != null ? { daily_usd_cap: o.dailyUsdCap } : {}),
        ...(o.monthlyUsdCap != null ? { monthly_usd_cap: o.monthlyUsdCap } : {}),
      };
      // the api validates vendor and strategy and names the field at fault
      const created = await client.credentials.create(body, { idempotencyKey: o.idempotencyKey });
      out.record(created, readable(created));
    });

  credentials
    .command('show')
    .description("show a profile, with what its vault keys spent today and this month against its caps")
    .argument('<credential>', 'profile id (cred_...) or name')
    .action(async (credential: string, _o: object, cmd: Command) => {
      const { client, out } = contextFor(cmd);
      const c = await client.credentials.get(credential);
      out.record(c, readable(c));
    });

  credentials
    .command('set-caps')
    .description("set or remove the profile's budgets: what all its vault keys may spend together (refused with 429 profile_cap_exceeded beyond)")
    .argument('<credential>', 'profile id (cred_...) or name')
    .option('--daily-usd-cap <usd>', "per UTC day, e.g. 10; 'none' removes it", usdCapOption('--daily-usd-cap', true))
    .option('--monthly-usd-cap <usd>', "per calendar month (UTC), e.g. 250; 'none' removes it", usdCapOption('--monthly-usd-cap', true))
    .action(async (credential: string, o: { dailyUsdCap?: number | 'none'; monthlyUsdCap?: number | 'none' }, cmd: Command) => {
      if (o.dailyUsdCap === undefined && o.monthlyUsdCap === undefined) throw new UsageError('give --daily-usd-cap, --monthly-usd-cap, or both');
      const { client, out } = contextFor(cmd);
      const c = await client.credentials.update(credential, {
        ...(o.dailyUsdCap !== undefined ? { daily_usd_cap: capValue(o.dailyUsdCap) } : {}),
        ...(o.monthlyUsdCap !== undefined ? { monthly_usd_cap: capValue(o.monthlyUsdCap) } : {}),
      });
      out.record(c, readable(c));
    });

  credentials
    .command('add-key')
    .description('add a provider key to a profile (rotation without downtime: add the new, then retire the old)')
    .argument('<credential>', 'profile id (cred_...) or name')
    .option('--key <key>', 'the provider key; prefer --key-from-stdin')
    .option('--key-from-stdin', 'read the provider key from stdin')
    .option('--group <group>', "only vault keys naming this key_group use the key (a team's or one user's own key)")
    .action(async (credential: string, o: { key?: string; keyFromStdin?: boolean; group?: string }, cmd: Command) => {
      const { client, out } = contextFor(cmd);
      const keys = await providerKeys(o.key ? [o.key] : [], o.keyFromStdin);
      if (keys.length !== 1) throw new UsageError('add-key takes exactly one provider key.');
      const updated = await client.credentials.addKey(credential, keys[0], o.group !== undefined ? { group: o.group } : undefined);
      out.record(updated, readable(updated));
    });

  credentials
    .command('retire-key')
    .description('retire one provider key of a profile; the others keep serving')
    .argument('<credential>', 'profile id (cred_...) or name')
    .argument('<key>', 'provider key id (ck_...)')
    .action(async (credential: string, key: string, _o: object, cmd: Command) => {
      const { client, out } = contextFor(cmd);
      const updated = await client.credentials.retireKey(credential, key);
      out.record(updated, readable(updated));
    });
}

interface CreateOptions {
  vendor: string;
  key?: string[];
  keysFromStdin?: boolean;
  strategy?: string;
  baseUrl?: string;
  default?: boolean;
  dailyUsdCap?: number;
  monthlyUsdCap?: number;
  idempotencyKey?: string;
}
