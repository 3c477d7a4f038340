import { KeyvaultError } from '@keyvault/errors';
import type { HangUpSignal } from './hang-up';

/** Seconds a refused call is told to wait before trying again. */
const BUSY_RETRY_AFTER_SECONDS = 1;

/**
 * The bound on calls in flight to one upstream origin when KEYVAULT_UPSTREAM_MAX_CONNECTIONS is
 * set (with no limit there is no gate at all). A call past the limit waits at most
 * `queueTimeoutMs` for one to finish, then is refused 503 upstream_busy: the connection pool
 * under it is sized to the same limit, so it never queues a call on its own.
 */
export class UpstreamGate {
  private active = 0;
  private readonly waiting: Array<{ grant: () => void }> = [];

  constructor(
    private readonly limit: number,
    private readonly queueTimeoutMs: number,
    private readonly onRefused: () => void,
  ) {}

  /** calls waiting for a slot */
  get queued(): number {
    return this.waiting.length;
  }

  /** Takes a slot (resolves at once when one is free); `release` gives it back, exactly once per acquire. */
  acquire(signal?: HangUpSignal): Promise<void> | void {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    if (this.queueTimeoutMs === 0) throw this.refuse();
    return new Promise<void>((resolve, reject) => {
      const entry = {
        grant: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.active++;
          resolve();
        },
      };
      const leave = () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        clearTimeout(timer);
        leave();
        reject(new KeyvaultError('upstream_busy', 'The call was abandoned while waiting for an upstream connection.'));
      };
      const timer = setTimeout(() => {
        leave();
        reject(this.refuse());
      }, this.queueTimeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  release(): void {
    this.active--;
    const next = this.waiting.shift();
    if (next) next.grant();
  }

  private refuse(): KeyvaultError {
    this.onRefused();
    return new KeyvaultError('upstream_busy', 'Every upstream connection this proxy may open is in use; retry shortly.').withHeaders({
      'retry-after': String(BUSY_RETRY_AFTER_SECONDS),
    });
  }
}
