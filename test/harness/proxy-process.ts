import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { freePort } from './free-port';

/** The built proxy (`npm run build`; `npm test` builds first). */
export const BUILT_PROXY = resolve(__dirname, '../../dist/apps/proxy/apps/proxy/src/main.js');

export interface ProxyProcess {
  port: number;
  url: string;
  child: ChildProcess;
  /** resolves with the exit code (null when killed by a signal) */
  exited: Promise<number | null>;
  /** sends the signal and waits for the process to end */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs the built proxy as its own process (main.ts, signal handlers and all) against an
 * existing database, on a free loopback port, and waits until it is ready. For what an
 * in-process proxy cannot show: a SIGKILL, a SIGTERM, a restart.
 */
export async function spawnProxy(env: Record<string, string>): Promise<ProxyProcess> {
  if (!existsSync(BUILT_PROXY)) throw new Error(`${BUILT_PROXY} is missing: run npm run build`);
  const port = await freePort();
  const child = spawn(process.execPath, [BUILT_PROXY], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'error', KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: 'true', HOST: '127.0.0.1', ...env, PROXY_PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const early = await Promise.race([exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 50))]);
    if (early) throw new Error('the proxy process exited before it was ready');
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) break;
    if (i > 400) {
      child.kill('SIGKILL');
      throw new Error('the proxy process did not get ready');
    }
  }
  return {
    port,
    url,
    child,
    exited,
    stop(signal) {
      child.kill(signal);
      return exited;
    },
  };
}
