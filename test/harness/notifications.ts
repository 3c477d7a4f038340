import { Client } from 'pg';

/**
 * Listens on a Postgres NOTIFY channel as a proxy instance would, collecting the JSON payloads,
 * so tests can assert what the api announced.
 */
export class NotificationRecorder {
  readonly payloads: unknown[] = [];
  private constructor(private readonly client: Client) {}

  static async listen(databaseUrl: string, channel: string): Promise<NotificationRecorder> {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    const recorder = new NotificationRecorder(client);
    client.on('notification', (n) => {
      if (n.channel === channel) recorder.payloads.push(JSON.parse(n.payload ?? 'null'));
    });
    await client.query(`LISTEN ${channel}`);
    return recorder;
  }

  /**
   * The payloads received so far. NOTIFY is delivered at commit, before the api answers, but it
   * reaches this connection asynchronously: a round trip on the same connection flushes it.
   */
  async received(): Promise<unknown[]> {
    await this.client.query('SELECT 1');
    return [...this.payloads];
  }

  /** Forgets what was received so far, after flushing notices still in flight (a round trip). */
  async clear(): Promise<void> {
    await this.client.query('SELECT 1');
    this.payloads.length = 0;
  }

  close(): Promise<void> {
    return this.client.end();
  }
}
