import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** The `bin` entry of package.json, exactly as `npx keyvault` runs it. */
export const CLI_BIN = resolve(__dirname, '../bin/keyvault.js');
const BUILT_ENTRY = resolve(__dirname, '../../../dist/apps/cli/apps/cli/src/main.js');

export function assertCliBuilt(): void {
  if (!existsSync(BUILT_ENTRY)) throw new Error('The CLI is not built: run `npm run build` (npm test does) before these tests.');
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI in a child process with only the environment given (plus PATH). */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI_BIN, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}
