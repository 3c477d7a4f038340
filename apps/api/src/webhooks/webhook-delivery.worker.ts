import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Counter } from 'prom-client';
import { DataSource, type EntityManager } from 'typeorm';
import type { ApiConfig } from '@keyvault/config';
import { aad, MasterKeyring, open, Secret, unwrapTenantDataKey } from '@keyvault/crypto';
import { acrossTenants, type WebhookEventType, type WebhookKind } from '@keyvault/db';
import { UnsafeUrlError } from '@keyvault/net';
import { MetricsRegistry } from '@keyvault/observability';
import { API_CONFIG } from '../config.providers';
import { alertMessage, emailParts, slackBody } from './alert-message';
import { pinnedPost, type PostResult } from './pinned-post';
import { retryDelayMs } from './retry-policy';
import { SmtpError, SmtpMailer } from './smtp-mailer';
import { EVENT_ID_HEADER, eventBody, SIGNATURE_HEADER, signatureHeader } from './webhook-signature';

/** Deliveries claimed per round; they are sent concurrently. */
const BATCH = 10;
/** Longest last_error kept. */
const MAX_ERROR_CHARS = 500;
/** Longest part of a receiver's answer kept per attempt. */
const EXCERPT_CHARS = 1000;

/** A claimed delivery with what sending it needs. */
interface ClaimedDelivery {
  id: string;
  tenant_id: string;
  webhook_id: string;
  attempts: number;
  kind: WebhookKind;
  url: string | null;
  email_to: string[] | null;
  secret_sealed: Buffer;
  event_id: string;
  event_type: WebhookEventType;
  payload: Record<string, unknown>;
  event_created_at: Date;
  data_key_wrapped: Buffer;
  data_key_master_key_id: string;
  data_key_version: number;
  tenant_name: string;
  key_label: string | null;
}

/** One attempt's result, as the delivery history shows it. */
interface Outcome {
  ok: boolean;
  status: number | null;
  error: string | null;
  excerpt: string | null;
  startedAt: Date;
  durationMs: number;
}

class ShutdownError extends Error {
  constructor() {
    super('interrupted: the api shut down during the attempt');
  }
}

/**
 * Delivers the webhook outbox. Every api instance runs one; they share the work through
 * `FOR UPDATE SKIP LOCKED`. Claiming a delivery pushes its next_attempt_at forward by a lease
 * longer than any attempt can take, in the same statement, so a worker that dies mid-attempt
 * leaves the row to whichever worker sees it due after the lease: never lost, never sent by two
 * workers at once. Delivery is at least once: receivers dedupe on Keyvault-Event-Id.
 */
@Injectable()
export class WebhookDeliveryWorker implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(WebhookDeliveryWorker.name);
  private readonly leaseMs: number;
  private readonly attemptsTotal: Counter;
  private loop: Promise<void> | null = null;
  private stopping = false;
  private readonly shutdown = new AbortController();
  private wake: (() => void) | null = null;
  private readonly mailer: SmtpMailer | null;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly keyring: MasterKeyring,
    metrics: MetricsRegistry,
  ) {
    // An attempt ends within the timeout (DNS included); twice that leaves room for a slow loop.
    this.leaseMs = 2 * config.KEYVAULT_WEBHOOK_TIMEOUT_MS;
    this.mailer = config.KEYVAULT_SMTP_URL
      ? new SmtpMailer(config.KEYVAULT_SMTP_URL, config.KEYVAULT_SMTP_FROM, config.KEYVAULT_WEBHOOK_TIMEOUT_MS)
      : null;
    this.attemptsTotal = new Counter({
      name: 'keyvault_webhook_attempts_total',
      help: 'Webhook delivery attempts by outcome',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    });
  }

  onModuleInit(): void {
    this.loop = this.run();
  }

  /** Stops claiming, interrupts attempts in flight and hands their rows back at once. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    this.shutdown.abort(new ShutdownError());
    this.wake?.();
    await this.loop;
    this.mailer?.close();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let claimed = 0;
      try {
        claimed = await this.deliverDue();
      } catch (err) {
        this.logger.error({ err: { name: (err as Error).name, message: (err as Error).message } }, 'webhook delivery round failed');
      }
      // A full batch means more may be due: go on at once.
      if (claimed < BATCH && !this.stopping) await this.sleep(this.config.KEYVAULT_WEBHOOK_POLL_INTERVAL_MS);
    }
  }

  /** One round: claim what is due and attempt each. Returns how many were claimed. */
  async deliverDue(): Promise<number> {
    const due = await this.claim();
    await Promise.all(due.map((d) => this.attempt(d)));
    return due.length;
  }

  private async claim(): Promise<ClaimedDelivery[]> {
    // deliveries span tenants by nature: the claim, like the results, runs as keyvault_worker
    const [rows]: [ClaimedDelivery[], number] = await acrossTenants(this.db, 'webhook delivery', (m) => m.query(
      `WITH due AS (
         SELECT d.id FROM webhook_deliveries d
           JOIN webhooks w ON w.id = d.webhook_id AND w.deleted_at IS NULL
          WHERE d.status = 'pending' AND d.next_attempt_at <= now()
          ORDER BY d.next_attempt_at
          LIMIT $1
          FOR UPDATE OF d SKIP LOCKED
       )
       UPDATE webhook_deliveries d
          SET attempts = d.attempts + 1, last_attempt_at = now(), updated_at = now(),
              next_attempt_at = now() + $2 * interval '1 millisecond',
              leased_until = now() + $2 * interval '1 millisecond'
         FROM due, webhooks w, webhook_events e, tenants t
        WHERE d.id = due.id AND w.id = d.webhook_id AND e.id = d.event_id AND t.id = d.tenant_id
       RETURNING d.id, d.tenant_id, d.webhook_id, d.attempts, w.kind, w.url, w.email_to, w.secret_sealed,
                 e.id AS event_id, e.type AS event_type, e.payload, e.created_at AS event_created_at,
                 t.data_key_wrapped, t.data_key_master_key_id, t.data_key_version, t.name AS tenant_name,
                 (SELECT vk.label FROM vault_keys vk WHERE vk.id = e.payload->>'vault_key_id') AS key_label`,
      [BATCH, this.leaseMs],
    ));
    return rows;
  }

  private async attempt(d: ClaimedDelivery): Promise<void> {
    const startedAt = new Date();
    const began = performance.now();
    const elapsed = () => Math.round(performance.now() - began);
    let outcome: Outcome;
    try {
      const sent = await this.send(d);
      const ok = sent.status >= 200 && sent.status < 300;
      const error = ok ? null : d.kind === 'email' ? `smtp server answered ${sent.status}` : `receiver answered HTTP ${sent.status}`;
      outcome = { ok, status: sent.status, error, excerpt: sent.excerpt || null, startedAt, durationMs: elapsed() };
    } catch (err) {
      if (err instanceof ShutdownError) {
        await this.handBack(d, err.message, { ok: false, status: null, error: err.message, excerpt: null, startedAt, durationMs: elapsed() });
        return;
      }
      const smtp = err instanceof SmtpError ? err : null;
      outcome = { ok: false, status: smtp?.code ?? null, error: describe(err), excerpt: smtp?.response ?? null, startedAt, durationMs: elapsed() };
    }
    this.attemptsTotal.inc({ outcome: outcome.ok ? 'succeeded' : 'failed' });
    await this.record(d, outcome);
  }

  /** Sends one delivery the way its webhook's kind says; an SMTP acceptance (250) counts as 2xx. */
  private async send(d: ClaimedDelivery): Promise<PostResult> {
    const post = { allowPrivate: this.config.KEYVAULT_ALLOW_PRIVATE_UPSTREAMS, timeoutMs: this.config.KEYVAULT_WEBHOOK_TIMEOUT_MS, signal: this.shutdown.signal };
    if (d.kind === 'signed') {
      const body = eventBody({ id: d.event_id, type: d.event_type, created_at: d.event_created_at, payload: d.payload });
      const signature = signatureHeader(this.secretOf(d), body, Math.floor(Date.now() / 1000));
      return pinnedPost(
        d.url ?? '',
        body,
        { 'Content-Type': 'application/json', 'User-Agent': 'Keyvault-Webhooks/1', [SIGNATURE_HEADER]: signature, [EVENT_ID_HEADER]: d.event_id },
        post,
      );
    }
    const message = alertMessage({
      eventType: d.event_type,
      payload: d.payload,
      tenantName: d.tenant_name,
      keyLabel: d.key_label,
      publicApiUrl: this.config.KEYVAULT_PUBLIC_API_URL,
    });
    if (d.kind === 'slack') {
      return pinnedPost(d.url ?? '', slackBody(message), { 'Content-Type': 'application/json', 'User-Agent': 'Keyvault-Webhooks/1' }, post);
    }
    if (!this.mailer) throw new Error('smtp not configured: set KEYVAULT_SMTP_URL');
    const sent = await this.mailer.send(d.email_to ?? [], emailParts(message), { [EVENT_ID_HEADER]: d.event_id });
    // the SMTP reply code stands in for the HTTP status: 250, accepted, is a 2xx
    return { status: sent.code ?? 250, excerpt: sent.response };
  }

  /**
   * Writes an attempt's result, only while the row is still this worker's claim (same attempt
   * count): a worker that outlived its lease must not overwrite the next one's result.
   */
  private async record(d: ClaimedDelivery, o: Outcome): Promise<void> {
    await acrossTenants(this.db, 'webhook delivery', async (m) => {
      await this.recordAttempt(m, d, o);
      if (o.ok) {
        await m.query(
          `UPDATE webhook_deliveries SET status = 'succeeded', last_status_code = $3, last_error = NULL, leased_until = NULL, updated_at = now()
            WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
          [d.id, d.attempts, o.status],
        );
        return;
      }
      const delay = retryDelayMs(d.attempts, this.config.KEYVAULT_WEBHOOK_BACKOFF_BASE_MS);
      await m.query(
        `UPDATE webhook_deliveries
            SET status = CASE WHEN attempts >= LEAST($3, COALESCE(attempt_limit, $3))
                                OR now() + $4 * interval '1 millisecond' > created_at + $5 * interval '1 millisecond'
                              THEN 'failed' ELSE 'pending' END,
                next_attempt_at = now() + $4 * interval '1 millisecond',
                last_status_code = $6, last_error = $7, leased_until = NULL, updated_at = now()
          WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
        [d.id, d.attempts, this.config.KEYVAULT_WEBHOOK_MAX_ATTEMPTS, delay, this.config.KEYVAULT_WEBHOOK_MAX_AGE_MS, o.status, (o.error ?? '').slice(0, MAX_ERROR_CHARS)],
      );
    });
  }

  /**
   * Every attempt that ran is history, also one whose worker outlived its lease (its result no
   * longer decides the delivery's status, but it did reach the receiver).
   */
  private async recordAttempt(m: EntityManager, d: ClaimedDelivery, o: Outcome): Promise<void> {
    await m.query(
      `INSERT INTO webhook_delivery_attempts (delivery_id, attempt, tenant_id, at, status_code, duration_ms, error, response_excerpt)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
      [d.id, d.attempts, d.tenant_id, o.startedAt, o.status, o.durationMs, o.error?.slice(0, MAX_ERROR_CHARS) ?? null, o.excerpt?.slice(0, EXCERPT_CHARS) ?? null],
    );
  }

  /** An attempt cut short by shutdown is due again at once, for another instance to take. */
  private async handBack(d: ClaimedDelivery, reason: string, o: Outcome): Promise<void> {
    await acrossTenants(this.db, 'webhook delivery', async (m) => {
      await this.recordAttempt(m, d, o);
      await m.query(
        `UPDATE webhook_deliveries SET next_attempt_at = now(), last_error = $3, leased_until = NULL, updated_at = now()
          WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
        [d.id, d.attempts, reason],
      );
    });
  }

  private secretOf(d: ClaimedDelivery): Secret {
    const dataKey = unwrapTenantDataKey(this.keyring, {
      id: d.tenant_id,
      dataKeyWrapped: d.data_key_wrapped,
      dataKeyMasterKeyId: d.data_key_master_key_id,
      dataKeyVersion: d.data_key_version,
    });
    try {
      return new Secret(open(dataKey, d.secret_sealed, aad.webhookSecret(d.tenant_id, d.webhook_id)).toString('utf8'));
    } finally {
      dataKey.fill(0);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

/** A one-line reason for last_error, naming the URL check when that refused the target. */
function describe(err: unknown): string {
  if (err instanceof UnsafeUrlError) return `unsafe url: ${err.message}`;
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
