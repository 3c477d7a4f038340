import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull, type EntityManager } from 'typeorm';
import type { ApiConfig } from '@keyvault/config';
import { aad, MasterKeyring, newId, randomChars, seal, unwrapTenantDataKey } from '@keyvault/crypto';
import { pageByCursor, Tenant, Webhook, withTenant } from '@keyvault/db';
import { KeyvaultError, notFound } from '@keyvault/errors';
import { resolveSafeTarget, UnsafeUrlError } from '@keyvault/net';
import { API_CONFIG } from '../config.providers';
import type { CreateWebhookDto } from './dto/create-webhook.dto';
import type { AttemptRow, DeliveryRow } from './webhook.view';

const DEFAULT_THRESHOLD_PCT = 80;
const DELIVERY_SELECT = `SELECT d.id, d.webhook_id, d.event_id, e.type AS event_type, d.status, d.attempts, d.last_status_code,
       d.last_error, d.last_attempt_at, d.next_attempt_at, d.created_at,
       (d.leased_until IS NOT NULL AND d.leased_until > now()) AS in_flight
  FROM webhook_deliveries d LEFT JOIN webhook_events e ON e.id = d.event_id`;
/** 32 characters of base32: 160 random bits. */
const SECRET_CHARS = 32;

@Injectable()
export class WebhooksService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly keyring: MasterKeyring,
  ) {}

  /**
   * Returns the webhook and its signing secret; the secret is shown once and stored only sealed
   * under the tenant's data key, bound to the tenant and webhook ids.
   */
  async create(tenantId: string, dto: CreateWebhookDto): Promise<{ webhook: Webhook; secret: string }> {
    const kind = dto.kind ?? 'signed';
    if (kind === 'email') {
      if (dto.url !== undefined) throw new KeyvaultError('parameter_unknown', 'An email webhook has no url: name its recipients in to.', 'url');
      if (!this.config.KEYVAULT_SMTP_URL) throw new KeyvaultError('smtp_not_configured', 'Email webhooks need an SMTP server: set KEYVAULT_SMTP_URL.', 'kind');
    } else {
      if (dto.to !== undefined) throw new KeyvaultError('parameter_unknown', 'to is for email webhooks only.', 'to');
      if (dto.url === undefined) throw new KeyvaultError('parameter_missing', 'url is required.', 'url');
      // A Slack incoming-webhook URL passes the same checks as any other receiver.
      await this.assertSafeUrl(dto.url);
    }
    const tenant = await this.db.getRepository(Tenant).findOneByOrFail({ id: tenantId });
    const id = newId('webhook');
    const secret = `whsec_${randomChars(SECRET_CHARS)}`;
    const dataKey = unwrapTenantDataKey(this.keyring, tenant);
    let sealed: Buffer;
    try {
      sealed = seal(dataKey, Buffer.from(secret, 'utf8'), aad.webhookSecret(tenantId, id));
    } finally {
      dataKey.fill(0);
    }
    const webhook = await withTenant(this.db, tenantId, (m) => m.getRepository(Webhook).save({
      id,
      tenantId,
      kind,
      url: kind === 'email' ? null : (dto.url ?? null),
      emailTo: kind === 'email' ? (dto.to ?? null) : null,
      events: dto.events,
      thresholdPct: dto.threshold_pct ?? DEFAULT_THRESHOLD_PCT,
      secretSealed: sealed,
      dataKeyVersion: tenant.dataKeyVersion,
      deletedAt: null,
    }));
    return { webhook, secret };
  }

  /** Reads run confined to the tenant by row-level security too (withTenant), behind the filters. */
  list(tenantId: string, page: { limit: number; starting_after?: string }) {
    return withTenant(this.db, tenantId, (m) => {
      const qb = m.getRepository(Webhook).createQueryBuilder('w').where('w.tenant_id = :tenantId AND w.deleted_at IS NULL', { tenantId });
      return pageByCursor(qb, 'w', page);
    });
  }

  async get(tenantId: string, id: string): Promise<Webhook> {
    const webhook = await withTenant(this.db, tenantId, (m) => m.getRepository(Webhook).findOneBy({ id, tenantId, deletedAt: IsNull() }));
    if (!webhook) throw notFound('webhook', id);
    return webhook;
  }

  /** Soft delete; deliveries still owed to it are given up in the same transaction. */
  async delete(tenantId: string, id: string): Promise<void> {
    await withTenant(this.db, tenantId, async (m) => {
      const [rows]: [{ id: string }[], number] = await m.query(
        'UPDATE webhooks SET deleted_at = now() WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL RETURNING id',
        [id, tenantId],
      );
      if (rows.length === 0) throw notFound('webhook', id);
      await m.query(
        `UPDATE webhook_deliveries SET status = 'failed', last_error = 'webhook deleted', updated_at = now()
          WHERE webhook_id = $1 AND tenant_id = $2 AND status = 'pending'`,
        [id, tenantId],
      );
    });
  }

  /** Recent deliveries of one webhook, newest first, each with its attempts. */
  async deliveries(tenantId: string, id: string, page: { limit: number; starting_after?: string }) {
    await this.get(tenantId, id);
    const params: unknown[] = [tenantId, id];
    let after = '';
    if (page.starting_after) {
      params.push(page.starting_after);
      after = `AND d.id < $${params.length}`;
    }
    params.push(page.limit + 1);
    return withTenant(this.db, tenantId, async (m) => {
      const rows: DeliveryRow[] = await m.query(`${DELIVERY_SELECT} WHERE d.tenant_id = $1 AND d.webhook_id = $2 ${after} ORDER BY d.id DESC LIMIT $${params.length}`, params);
      const shown = rows.slice(0, page.limit);
      return { rows: shown, attempts: await this.attemptsOf(m, tenantId, shown), has_more: rows.length > page.limit };
    });
  }

  /** One delivery of one webhook with every attempt. */
  async delivery(tenantId: string, webhookId: string, deliveryId: string): Promise<{ row: DeliveryRow; attempts: AttemptRow[] }> {
    await this.get(tenantId, webhookId);
    return withTenant(this.db, tenantId, async (m) => {
      const [row]: DeliveryRow[] = await m.query(`${DELIVERY_SELECT} WHERE d.tenant_id = $1 AND d.webhook_id = $2 AND d.id = $3`, [tenantId, webhookId, deliveryId]);
      if (!row) throw notFound('webhook delivery', deliveryId, 'delivery_id');
      return { row, attempts: await this.attemptsOf(m, tenantId, [row]) };
    });
  }

  /**
   * Sends a delivery again, whatever became of it: due at once, with one attempt more than it
   * has had (a redelivery is one try, not a new round of retries). A pending delivery is only
   * brought forward. Refused while an attempt is in flight, so two never race.
   */
  async redeliver(tenantId: string, webhookId: string, deliveryId: string): Promise<{ row: DeliveryRow; attempts: AttemptRow[] }> {
    await this.get(tenantId, webhookId);
    const [rows]: [{ id: string }[], number] = await withTenant(this.db, tenantId, (m) => m.query(
      `UPDATE webhook_deliveries
          SET status = 'pending', next_attempt_at = now(), updated_at = now(),
              attempt_limit = CASE WHEN status = 'pending' THEN attempt_limit ELSE attempts + 1 END
        WHERE id = $1 AND webhook_id = $2 AND tenant_id = $3 AND (leased_until IS NULL OR leased_until <= now())
        RETURNING id`,
      [deliveryId, webhookId, tenantId],
    ));
    const found = await this.delivery(tenantId, webhookId, deliveryId);
    if (rows.length === 0) throw new KeyvaultError('delivery_in_progress', 'An attempt at this delivery is in flight; redeliver once it has ended.', 'delivery_id');
    return found;
  }

  private attemptsOf(m: EntityManager, tenantId: string, rows: DeliveryRow[]): Promise<AttemptRow[]> {
    if (rows.length === 0) return Promise.resolve([]);
    return m.query(
      `SELECT delivery_id, attempt, at, status_code, duration_ms, error, response_excerpt
         FROM webhook_delivery_attempts WHERE tenant_id = $1 AND delivery_id = ANY($2) ORDER BY delivery_id, attempt`,
      [tenantId, rows.map((r) => r.id)],
    );
  }

  /** Refused before anything is stored or sent: only https on public addresses, unless allowed. */
  private async assertSafeUrl(url: string): Promise<void> {
    try {
      await resolveSafeTarget(url, { allowPrivate: this.config.KEYVAULT_ALLOW_PRIVATE_UPSTREAMS });
    } catch (err) {
      if (err instanceof UnsafeUrlError) throw new KeyvaultError('unsafe_url', `url ${err.message}.`, 'url');
      throw err;
    }
  }
}
