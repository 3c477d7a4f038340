import { Logger } from '@nestjs/common';
import { Client } from 'pg';

export interface ListenerEvents {
  notice(channel: string, payload: string): void;
  /** false when the connection dropped (notices may be missed from now on), true once listening again */
  connection(listening: boolean): void;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

/**
 * A dedicated Postgres connection that LISTENs on the proxy's channels and reconnects by
 * itself with backoff. While it is down, notices can be missed, so its owner treats every
 * cache as untrusted until `connection(true)`.
 */
export class NotificationListener {
  private readonly logger = new Logger('NotificationListener');
  private client: Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private backoffMs = MIN_BACKOFF_MS;
  private stopped = false;
  listening = false;

  constructor(
    private readonly url: string,
    private readonly channels: readonly string[],
    private readonly events: ListenerEvents,
    private readonly countQuery: () => void,
  ) {}

  /** Connects once (throws when the database is unreachable at start). */
  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const c = this.client;
    this.client = null;
    this.listening = false;
    await c?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.url, connectionTimeoutMillis: 2_000, keepAlive: true, application_name: 'keyvault-proxy-listen' });
    client.on('notification', (n) => this.events.notice(n.channel, n.payload ?? ''));
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      for (const channel of this.channels) {
        this.countQuery();
        await client.query(`LISTEN "${channel}"`);
      }
    } catch (err) {
      client.end().catch(() => undefined);
      throw err;
    }
    if (this.stopped) return void client.end().catch(() => undefined);
    this.client = client;
    this.listening = true;
    this.backoffMs = MIN_BACKOFF_MS;
    this.events.connection(true);
  }

  private lost(client: Client): void {
    if (client !== this.client) return;
    this.client = null;
    this.listening = false;
    client.end().catch(() => undefined);
    this.logger.warn('LISTEN connection lost; caches are bypassed until it is back');
    this.events.connection(false);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect().catch(() => {
        this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
        this.scheduleReconnect();
      });
    }, this.backoffMs);
    this.timer.unref();
  }
}
