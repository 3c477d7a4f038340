import { Command, CommanderError } from 'commander';
import { KeyvaultApiError, KeyvaultConnectionError } from '@keyvault/client';
import { registerApiKeys } from './commands/api-keys.command';
import { registerAudit } from './commands/audit.command';
import { registerCredentials } from './commands/credentials.command';
import { registerGatewayKeys } from './commands/gateway-keys.command';
import { registerTenants } from './commands/tenants.command';
import { registerVaultKeys } from './commands/vault-keys.command';
import { DEFAULT_API_URL, UsageError } from './context';

export function buildProgram(): Command {
  const program = new Command('keyvault')
    .description('Operate a Keyvault deployment: tenants, credentials, vault keys and the audit log.')
    .option('--api-url <url>', `the api's URL (env KEYVAULT_API_URL, default ${DEFAULT_API_URL})`)
    .option('--api-key <key>', 'admin token or kv_live_ key (env KEYVAULT_API_KEY; the env keeps it out of ps and history)')
    .option('--tenant <id>', 'admin only: act inside this tenant (env KEYVAULT_TENANT)')
    .option('--json', 'print the api\'s JSON instead of a table')
    // Throw instead of exiting, so the exit code is decided in one place (exitCodeFor).
    .exitOverride()
    .showSuggestionAfterError();
  registerTenants(program);
  registerApiKeys(program);
  registerCredentials(program);
  registerVaultKeys(program);
  registerGatewayKeys(program);
  registerAudit(program);
  return program;
}

/**
 * Reports an error on stderr as one or two lines (never a stack trace) and returns the exit code:
 * 0 for --help and --version, 2 for a mistake in the command line, 1 for everything else.
 */
export function exitCodeFor(err: unknown, writeErr: (s: string) => void): number {
  if (err instanceof CommanderError) {
    // commander has already printed its message (or the help)
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' ? 0 : 2;
  }
  if (err instanceof UsageError) {
    writeErr(`error: ${err.message}\n`);
    return 2;
  }
  if (err instanceof KeyvaultApiError) {
    const details = [`code: ${err.code}`, `status: ${err.status}`];
    if (err.param) details.push(`param: ${err.param}`);
    if (err.errorId) details.push(`error_id: ${err.errorId}`);
    writeErr(`error: ${err.message}\n  (${details.join(', ')})\n`);
    return 1;
  }
  if (err instanceof KeyvaultConnectionError) {
    writeErr(`error: ${err.message}\n`);
    return 1;
  }
  writeErr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}
