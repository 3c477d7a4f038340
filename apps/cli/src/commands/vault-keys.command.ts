import type { Command } from 'commander';
import type { IssueVaultKeyParams, VaultKey } from '@keyvault/client';
import { usdText, usdToNanos } from '@keyvault/policy';
import { collect, collectPairs, contextFor, intOption, UsageError } from '../context';
import type { Column } from '../output';

const COLUMNS: Column<VaultKey>[] = [
  { header: 'ID', value: (k) => k.id },
  { header: 'VENDOR', value: (k) => k.vendor },
  { header: 'CREDENTIAL', value: (k) => k.credential_name ?? k.credential },
  { header: 'LABEL', value: (k) => k.label },
  { header: 'STATUS', value: (k) => k.status },
  { header: 'SPENT TODAY', value: (k) => `$${usdText(k.spent_today_usd)}${k.daily_usd_cap === null ? '' : ` / $${usdText(k.daily_usd_cap)}`}` },
  { header: 'SPENT TOTAL', value: (k) => `$${usdText(k.total_spent_usd)}${k.total_usd_cap === null ? '' : ` / $${usdText(k.total_usd_cap)}`}` },
  { header: 'RESERVED', value: (k) => `$${usdText(k.reserved_usd)}` },
  { header: 'EXPIRES', value: (k) => k.expires_at },
  { header: 'METADATA', value: (k) => k.metadata },
];

function usdOption(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || usdToNanos(value) === null) {
      throw new UsageError(`${flag} must be an amount in USD above 0 with at most 9 decimals, got '${value}'`);
    }
    return n;
  };
}
const usd = usdOption('--daily-usd-cap');

interface IssueOptions {
  vendor: string;
  credential?: string;
  dailyUsdCap?: number;
  // guardrails (issue 19)
  totalUsdCap?: number;
  maxUsdPerCall?: number;
  allowModel?: string[];
  duplicateWindow?: string;
  maxCallsPerMinute?: number;
  maxTokensPerMinute?: number;
  allowInput?: string[];
  allow: string[];
  expiresIn: string;
  label?: string;
  metadata?: Record<string, string>;
  idempotencyKey?: string;
}

interface FilterOptions {
  label?: string;
  credential?: string;
  metadata?: Record<string, string>;
}

export function registerVaultKeys(program: Command): void {
  const keys = program.command('vault-keys').description('vault keys: short-lived, capped keys for the proxy');

  keys
    .command('issue')
    .description('issue a vault key; the key is shown once')
    .requiredOption('--vendor <vendor>', 'openai, anthropic, stripe, twilio, resend or openai_compatible')
    .option('--credential <credential>', "profile name or id (default: the tenant's default profile for the vendor)")
    .option('--daily-usd-cap <usd>', 'what the key may spend per UTC day, e.g. 100 (this, --total-usd-cap, or both)', usd)
    .option('--total-usd-cap <usd>', "what the key may spend over its whole life, e.g. 500 (this, --daily-usd-cap, or both)", usdOption('--total-usd-cap'))
    .option('--max-usd-per-call <usd>', 'refuse any call that may cost more, e.g. 100 (Stripe amount, LLM worst case)', usdOption('--max-usd-per-call'))
    .option('--allow-model <glob>', 'LLM vendors: an allowed model, e.g. "gpt-4o-mini" or "claude-3-5-haiku-*" (repeat for more)', collect)
    .option('--duplicate-window <duration>', 'a repeated money-moving call within it is a duplicate (default 10m for stripe, twilio, resend; 0: off)')
    .option('--max-calls-per-minute <n>', 'calls admitted in any 60 s window, across all proxy instances', intOption('--max-calls-per-minute', 1, 10_000))
    .option('--max-tokens-per-minute <n>', 'LLM vendors: tokens (worst case, settled to usage) in any 60 s window', intOption('--max-tokens-per-minute', 1, 100_000_000))
    .option('--allow-input <kind>', 'LLM vendors: images, files or server_tools a call may carry (repeat for more; --allow-input none refuses all three; default: all)', collect)
    .requiredOption('--allow <endpoint>', 'an allowed endpoint, e.g. "POST /v1/chat/completions" (repeat for more)', collect)
    .requiredOption('--expires-in <duration>', "30m, 2h, 72h, 7d... (at most the tenant's max)")
    .option('--label <label>', 'a label to list or revoke keys by')
    .option('--metadata <key=value>', 'metadata, e.g. conversation_id=c_9 (repeat for more)', collectPairs('--metadata'))
    .option('--idempotency-key <key>', 'retry-safe: the same key returns the first result')
    .action(async (o: IssueOptions, cmd: Command) => {
      const { client, out } = contextFor(cmd);
      if (o.dailyUsdCap === undefined && o.totalUsdCap === undefined) throw new UsageError('give --daily-usd-cap, --total-usd-cap, or both');
      const body: IssueVaultKeyParams = {
        vendor: o.vendor as IssueVaultKeyParams['vendor'],
        ...(o.dailyUsdCap !== undefined ? { daily_usd_cap: o.dailyUsdCap } : {}),
        ...(o.totalUsdCap !== undefined ? { total_usd_cap: o.totalUsdCap } : {}),
        allowed_endpoints: o.allow,
        expires_in: o.expiresIn,
        ...(o.credential ? { credential: o.credential } : {}),
        ...(o.maxUsdPerCall !== undefined ? { max_usd_per_call: o.maxUsdPerCall } : {}),
        ...(o.allowModel ? { allowed_models: o.allowModel } : {}),
        ...(o.duplicateWindow !== undefined ? { duplicate_window: o.duplicateWindow } : {}),
        ...(o.maxCallsPerMinute !== undefined ? { max_calls_per_minute: o.maxCallsPerMinute } : {}),
        ...(o.maxTokensPerMinute !== undefined ? { max_tokens_per_minute: o.maxTokensPerMinute } : {}),
        ...(o.allowInput ? { allowed_inputs: o.allowInput.filter((k) => k !== 'none') as NonNullable<IssueVaultKeyParams['allowed_inputs']> } : {}),
        ...(o.label ? { label: o.label } : {}),
        ...(o.metadata ? { metadata: o.metadata } : {}),
      };
      out.record(await client.vaultKeys.issue(body, { idempotencyKey: o.idempotencyKey }));
      out.note('\nThe vault_key above is shown only once.');
    });

  keys
    .command('list')
    .description('list vault keys with what each spent today')
    .option('--status <status>', 'active, revoked or expired')
    .option('--label <label>', 'only keys with this label')
    .option('--credential <credential>', 'only keys of this profile (name or id)')
    .option('--metadata <key=value>', 'only keys whose metadata has this pair (repeat: all must match)', collectPairs('--metadata'))
    .option('--limit <n>', 'how many (1-100)', intOption('--limit', 1, 100))
    .option('--starting-after <id>', 'the last id of the previous page')
    .action(async (o: FilterOptions & { status?: string; limit?: number; startingAfter?: string }, cmd: Command) => {
      const { client, out } = contextFor(cmd);
      const page = await client.vaultKeys.list({
        status: o.status as NonNullable<Parameters<typeof client.vaultKeys.list>[0]>['status'],
        label: o.label,
        credential: o.credential,
        metadata: o.metadata,
        limit: o.limit,
        starting_after: o.startingAfter,
      });
      out.table(page.data, COLUMNS);
      if (page.has_more) out.note(`more: --starting-after ${page.data[page.data.length - 1].id}`);
    });

  keys
    .command('revoke')
    .description('revoke one key by id, or every active key matching --label / --credential / --metadata')
    .argument('[id]', 'vault key id (vk_...)')
    .option('--label <label>', 'revoke every active key with this label')
    .option('--credential <credential>', 'revoke every active key of this profile')
    .option('--metadata <key=value>', 'revoke every active key with this metadata pair (repeat: all must match)', collectPairs('--metadata'))
    .action(async (id: string | undefined, o: FilterOptions, cmd: Command) => {
      const filtered = Boolean(o.label || o.credential || o.metadata);
      if (id && filtered) throw new UsageError('Give either a vault key id or filters (--label, --credential, --metadata), not both.');
      if (!id && !filtered) throw new UsageError('Give a vault key id, or at least one of --label, --credential, --metadata.');
      const { client, out } = contextFor(cmd);
      if (id) return out.record(await client.vaultKeys.revoke(id));
      out.record(await client.vaultKeys.revokeMatching({ label: o.label, credential: o.credential, metadata: o.metadata }));
    });
}
