import type { Command } from 'commander';
import type { GatewayKey } from '@keyvault/client';
import { contextFor, intOption } from '../context';
import type { Column } from '../output';

const COLUMNS: Column<GatewayKey>[] = [
  { header: 'ID', value: (k) => k.id },
  { header: 'NAME', value: (k) => k.name },
  { header: 'LAST4', value: (k) => k.last4 },
  { header: 'STATUS', value: (k) => k.status },
  { header: 'CREATED', value: (k) => k.created_at },
];

export function registerGatewayKeys(program: Command): void {
  const keys = program
    .command('gateway-keys')
    .description("the tenant's gateway keys (kv_gw_...), for tools that hold one API key (Dify's model provider); each call names its vault key");

  keys
    .command('create')
    .description('create a gateway key; the key is shown once')
    .argument('<name>', 'what it is pasted into, e.g. "dify production"')
    .action(async (name: string, _o: object, cmd: Command) => {
      const { client, out } = contextFor(cmd);
      out.record(await client.gatewayKeys.create(name));
      out.note('\nThe gateway_key above is shown only once: paste it into your tool now.');
    });

  keys
    .command('list')
    .description("list the tenant's gateway keys")
    .option('--limit <n>', 'how many (1-100)', intOption('--limit', 1, 100))
    .action(async (o: { limit?: number }, cmd: Command) => {
      const { client, out } = contextFor(cmd);
      out.table((await client.gatewayKeys.list({ limit: o.limit })).data, COLUMNS);
    });

  keys
    .command('revoke')
    .description('revoke a gateway key; the next call with it is refused')
    .argument('<id>', 'gateway key id (gwk_...)')
    .action(async (id: string, _o: object, cmd: Command) => {
      const { client, out } = contextFor(cmd);
      out.record(await client.gatewayKeys.revoke(id));
    });
}
