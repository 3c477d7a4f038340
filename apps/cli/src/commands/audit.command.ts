import type { Command } from 'commander';
import type { AuditEntry, AuditListParams, KeyvaultClient } from '@keyvault/client';
import { usdText } from '@keyvault/policy';
import { contextFor, intOption } from '../context';

interface TailOptions {
  follow?: boolean;
  runId?: string;
  conversationId?: string;
  vaultKey?: string;
  status?: string;
  limit: number;
  interval: number;
}

/** Fixed widths, so rows printed one poll at a time line up under one header. */
const FIELDS: { header: string; width: number; value: (e: AuditEntry) => unknown }[] = [
  { header: 'TIME', width: 24, value: (e) => e.created_at },
  { header: 'STATUS', width: 6, value: (e) => e.status },
  { header: 'VENDOR', width: 9, value: (e) => e.vendor },
  { header: 'CALL', width: 36, value: (e) => `${e.method} ${e.path}` },
  { header: 'COST', width: 12, value: (e) => `$${usdText(e.cost_usd)}` },
  { header: 'MS', width: 6, value: (e) => e.duration_ms },
  { header: 'VAULT KEY', width: 30, value: (e) => e.vault_key_id },
  { header: 'RUN', width: 36, value: (e) => e.run_id },
  { header: 'CONVERSATION', width: 20, value: (e) => e.conversation_id },
  { header: 'ERROR', width: 0, value: (e) => e.error_code },
];

const line = (cells: unknown[]) =>
  cells
    .map((c, i) => String(c ?? '-').padEnd(FIELDS[i].width))
    .join('  ')
    .trimEnd() + '\n';

/** How late an audit row may land behind newer ones and still be printed by --follow. */
const LATE_ROW_WINDOW_MS = 60_000;

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** Every entry matching `query`, across pages, oldest first. */
async function allPages(client: KeyvaultClient, query: AuditListParams): Promise<AuditEntry[]> {
  const rows: AuditEntry[] = [];
  for (let startingAfter: string | undefined; ; ) {
    const page = await client.audit.list({ ...query, limit: 100, starting_after: startingAfter });
    rows.push(...page.data);
    if (!page.has_more || page.data.length === 0) break;
    startingAfter = page.data[page.data.length - 1].id;
  }
  return rows.reverse();
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the audit log: one row per proxied call');

  audit
    .command('tail')
    .description('print the latest audit rows, oldest first; --follow keeps printing new ones (--json: one JSON object per line)')
    .option('-f, --follow', 'keep polling for new rows until interrupted')
    .option('--run-id <id>', 'only calls of this run (X-Run-Id or X-Dify-Workflow-Run-Id)')
    .option('--conversation-id <id>', 'only calls of this conversation (X-Conversation-Id)')
    .option('--vault-key <id>', 'only calls made with this vault key (vk_...)')
    .option('--status <status>', 'only this HTTP status (429) or class (4xx)')
    .option('-n, --limit <n>', 'how many past rows to show first (1-100)', intOption('--limit', 1, 100), 20)
    .option('--interval <seconds>', 'seconds between polls with --follow', intOption('--interval', 1, 3600), 2)
    .action(async (o: TailOptions, cmd: Command) => {
      const { client, out } = contextFor(cmd);
      const write = (s: string) => process.stdout.write(s);
      const show = (e: AuditEntry) => write(out.json ? `${JSON.stringify(e)}\n` : line(FIELDS.map((f) => f.value(e))));
      const filters: AuditListParams = { run_id: o.runId, conversation_id: o.conversationId, vault_key: o.vaultKey, status: o.status };

      const latest = (await client.audit.list({ ...filters, limit: o.limit })).data.reverse();
      if (!out.json) write(line(FIELDS.map((f) => f.header)));
      latest.forEach(show);
      if (!o.follow) return;

      // The proxy writes audit rows in batches, stamped with when the call happened, so a row can
      // land a little after newer ones. Each poll re-reads a window behind the newest row seen and
      // skips the ids already printed.
      const seen = new Map(latest.map((e) => [e.id, Date.parse(e.created_at)]));
      const startedAt = Math.max(0, ...seen.values());
      if (startedAt) {
        // rows of the window older than those shown are history, not news
        const window = await allPages(client, { ...filters, from: new Date(startedAt - LATE_ROW_WINDOW_MS).toISOString() });
        for (const e of window) if (Date.parse(e.created_at) <= startedAt) seen.set(e.id, Date.parse(e.created_at));
      }
      for (;;) {
        await sleep(o.interval * 1000);
        const newest = Math.max(0, ...seen.values());
        const from = newest ? new Date(newest - LATE_ROW_WINDOW_MS).toISOString() : undefined;
        const fresh = (await allPages(client, { ...filters, ...(from ? { from } : {}) })).filter((e) => !seen.has(e.id));
        fresh.forEach(show);
        for (const e of fresh) seen.set(e.id, Date.parse(e.created_at));
        // only ids inside the window can come back
        const horizon = Math.max(0, ...seen.values()) - LATE_ROW_WINDOW_MS;
        for (const [id, at] of seen) if (at < horizon) seen.delete(id);
      }
    });
}
