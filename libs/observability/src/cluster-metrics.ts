import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

const ASK = 'keyvault:metrics-ask';
const ANSWER = 'keyvault:metrics-answer';
const ASK_TIMEOUT_MS = 5_000;

interface Ask {
  type: typeof ASK;
  id: number;
}
interface Answer {
  type: typeof ANSWER;
  id: number;
  text?: string;
  error?: string;
}

/** True in a process forked by a cluster primary (API_WORKERS > 1). */
export const inClusterWorker = (): boolean => cluster.isWorker && typeof process.send === 'function';

/**
 * Cluster primary: answers a worker's ask for /metrics with the sum over all workers (prom-client's
 * aggregator asks each worker for its registry), so a scrape reaching any worker sees the api.
 */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: Ask) => {
    if (message?.type !== ASK) return;
    aggregator.clusterMetrics().then(
      (text) => worker.isConnected() && worker.send({ type: ANSWER, id: message.id, text } satisfies Answer),
      (e: Error) => worker.isConnected() && worker.send({ type: ANSWER, id: message.id, error: e.message } satisfies Answer),
    );
  });
}

let listening = false;
let nextId = 0;
const pending = new Map<number, { resolve: (text: string) => void; reject: (e: Error) => void }>();

/**
 * Worker: offers `registry` to the primary's aggregation, once (a worker runs one app).
 * Outside a cluster it does nothing.
 */
export function joinClusterMetrics(registry: Registry): void {
  if (!inClusterWorker() || listening) return;
  listening = true;
  new AggregatorRegistry(); // installs prom-client's worker-side listener
  AggregatorRegistry.setRegistries([registry]);
  process.on('message', (message: Answer) => {
    if (message?.type !== ANSWER) return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.text !== undefined) waiter?.resolve(message.text);
    else waiter?.reject(new Error(message.error ?? 'no metrics'));
  });
}

/** Worker: the whole cluster's metrics, through the primary. */
export function clusterMetricsText(): Promise<string> {
  const id = nextId++;
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error('the cluster primary did not answer for metrics'));
    }, ASK_TIMEOUT_MS);
    pending.set(id, {
      resolve: (text) => (clearTimeout(timer), resolve(text)),
      reject: (e) => (clearTimeout(timer), reject(e)),
    });
    process.send!({ type: ASK, id } satisfies Ask);
  });
}
