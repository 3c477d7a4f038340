import { spawn } from 'node:child_process';
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

/** A CLI process left running (`audit tail --follow`). */
export interface RunningCli {
  stdout(): string;
  /** resolves once stdout contains `text`; rejects if the process exits first or `timeoutMs` passes */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
  /** resolves when the process exits by itself */
  exited: Promise<CliResult>;
  /** ends the process (SIGTERM) if it still runs, and resolves with what it printed */
  stop(): Promise<CliResult>;
}

/** Starts the built CLI with only the environment given (plus PATH). */
export function spawnCli(args: string[], env: Record<string, string> = {}, stdin?: string): RunningCli {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(stdin ?? '');
  const exited = new Promise<CliResult>((done) => child.on('close', (code) => done({ code: code ?? 1, stdout, stderr })));
  return {
    exited,
    stdout: () => stdout,
    async waitForOutput(text, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      while (!stdout.includes(text)) {
        if (child.exitCode !== null) throw new Error(`the CLI exited (${child.exitCode}) before printing ${text}: ${stderr}`);
        if (Date.now() > until) throw new Error(`the CLI did not print ${text} in ${timeoutMs} ms; it printed: ${stdout}${stderr}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Runs the built CLI to completion (killed after 20 s, so a hung command fails instead of hanging the suite). */
export async function runCli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<CliResult> {
  const cli = spawnCli(args, env, stdin);
  const guard = setTimeout(() => void cli.stop(), 20_000);
  try {
    return await cli.exited;
  } finally {
    clearTimeout(guard);
  }
}
