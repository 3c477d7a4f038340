import cluster, { type Worker } from 'node:cluster';
import pino from 'pino';
import { serveClusterMetrics } from '@keyvault/observability';

/** A worker lost this many times within RESTART_WINDOW_MS is a crash loop: the primary gives up. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
const RESTART_DELAY_MS = 1_000;
/** Workers still running this long after SIGTERM are killed. */
const STOP_GRACE_MS = 15_000;

/**
 * The api's cluster primary (API_WORKERS > 1). It serves no request: it forks the workers, which
 * share the port, answers their /metrics asks with the sum over all of them, and keeps them up.
 * A worker that exits before any worker listened means the api cannot start (database down,
 * port taken): the primary stops the rest and exits with that code, as a single process would.
 * A worker lost later is replaced, unless it keeps dying. SIGTERM or SIGINT stop the workers
 * gracefully (each drains as a single api does), then the primary.
 */
export function runApiPrimary(workers: number, level: string): void {
  const log = pino({ name: 'keyvault-api', level });
  let listened = false;
  let stopping = false;
  const restarts: number[] = [];

  serveClusterMetrics();
  cluster.on('listening', (worker) => {
    if (!listened) log.info({ workers }, 'api workers are starting to listen');
    listened = true;
    log.debug({ worker: worker.id }, 'api worker listening');
  });
  cluster.on('exit', (worker: Worker, code: number | null, signal: string | null) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(); // with the exitCode stop() set
      return;
    }
    if (!listened) {
      log.error({ worker: worker.id, code, signal }, 'an api worker failed to start; stopping');
      return stop(code || 1);
    }
    const now = Date.now();
    restarts.push(now);
    while (restarts.length && restarts[0] < now - RESTART_WINDOW_MS) restarts.shift();
    if (restarts.length > MAX_RESTARTS) {
      log.error({ restarts: restarts.length }, 'api workers keep exiting; stopping');
      return stop(1);
    }
    log.error({ worker: worker.id, code, signal }, 'an api worker exited; starting another');
    setTimeout(() => !stopping && cluster.fork(), RESTART_DELAY_MS).unref();
  });

  function stop(exitCode: number): void {
    if (stopping) return;
    stopping = true;
    process.exitCode = exitCode;
    const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
    if (live.length === 0) process.exit(exitCode);
    for (const w of live) w.process.kill('SIGTERM');
    setTimeout(() => {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      process.exit(exitCode || 1);
    }, STOP_GRACE_MS).unref();
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => stop(0));

  for (let i = 0; i < workers; i++) cluster.fork();
}
