import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import type { ApiConfig } from '@keyvault/config';
import { aad, MasterKeyring, newId, randomChars, seal, unwrapTenantDataKey } from '@keyvault/crypto';
import { pageByCursor, Tenant, Webhook, withTenant } from '@keyvault/db';
import { KeyvaultError, notFound } from '@keyvault/errors';
import { resolveSafeTarget, UnsafeUrlError } from '@keyvault/net';
import { API_CONFIG } from '../config.providers';
import type { CreateWebhookDto } from './dto/create-webhook.dto';
import type { DeliveryRow } from './webhook.view';

const DEFAULT_THRESHOLD_PCT = 80;
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
    await this.assertSafeUrl(dto.url);
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
    const webhook = await this.db.getRepository(Webhook).save({
      id,
      tenantId,
      url: dto.url,
      events: dto.events,
      thresholdPct: dto.threshold_pct ?? DEFAULT_THRESHOLD_PCT,
      secretSealed: sealed,
      dataKeyVersion: tenant.dataKeyVersion,
      deletedAt: null,
    });
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
    await this.db.transaction(async (m) => {
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

  /** Recent deliveries of one webhook, newest first. */
  async deliveries(tenantId: string, id: string, page: { limit: number; starting_after?: string }) {
    await this.get(tenantId, id);
    const params: unknown[] = [tenantId, id];
    let after = '';
    if (page.starting_after) {
      params.push(page.starting_after);
      after = `AND d.id < $${params.length}`;
    }
    params.push(page.limit + 1);
    const rows: DeliveryRow[] = await withTenant(this.db, tenantId, (m) => m.query(
      `SELECT d.id, d.webhook_id, d.event_id, e.type AS event_type, d.status, d.attempts, d.last_status_code,
              d.last_error, d.last_attempt_at, d.next_attempt_at, d.created_at
         FROM webhook_deliveries d LEFT JOIN webhook_events e ON e.id = d.event_id
        WHERE d.tenant_id = $1 AND d.webhook_id = $2 ${after}
        ORDER BY d.id DESC LIMIT $${params.length}`,
      params,
    ));
    return { rows: rows.slice(0, page.limit), has_more: rows.length > page.limit };
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
