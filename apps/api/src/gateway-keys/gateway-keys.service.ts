import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { hashSecret, mintGatewayKeyToken, newId } from '@keyvault/crypto';
import { CHANNELS, GatewayKey, pageByCursor, withTenant, type GatewayKeysNotice } from '@keyvault/db';
import { notFound } from '@keyvault/errors';
import type { CreateGatewayKeyDto } from './dto/create-gateway-key.dto';

@Injectable()
export class GatewayKeysService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Returns the row and the token; the token is shown once and stored only as an argon2id hash. */
  async create(tenantId: string, dto: CreateGatewayKeyDto): Promise<{ key: GatewayKey; token: string }> {
    const id = newId('gatewayKey');
    const token = mintGatewayKeyToken(id);
    const secretHash = await hashSecret(token);
    const key = await withTenant(this.db, tenantId, (m) => m.getRepository(GatewayKey).save({
      id,
      tenantId,
      name: dto.name,
      secretHash,
      last4: token.slice(-4),
      revokedAt: null,
    }));
    return { key, token };
  }

  list(tenantId: string, page: { limit: number; starting_after?: string }) {
    return withTenant(this.db, tenantId, (m) => {
      const qb = m.getRepository(GatewayKey).createQueryBuilder('g').where('g.tenant_id = :tenantId', { tenantId });
      return pageByCursor(qb, 'g', page);
    });
  }

  async get(tenantId: string, id: string): Promise<GatewayKey> {
    const key = await withTenant(this.db, tenantId, (m) => m.getRepository(GatewayKey).findOneBy({ id, tenantId }));
    if (!key) throw notFound('gateway key', id);
    return key;
  }

  /**
   * Marks the key revoked and tells every proxy instance in the same transaction (NOTIFY is
   * delivered at commit), so the next call with it is refused everywhere. Revoking twice is a no-op.
   */
  async revoke(tenantId: string, id: string): Promise<GatewayKey> {
    await withTenant(this.db, tenantId, async (m) => {
      const [rows]: [{ id: string }[], number] = await m.query(
        'UPDATE gateway_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 AND tenant_id = $2 RETURNING id',
        [id, tenantId],
      );
      if (rows.length === 0) throw notFound('gateway key', id);
      const notice: GatewayKeysNotice = { gateway_key_ids: [id] };
      await m.query('SELECT pg_notify($1, $2)', [CHANNELS.gatewayKeys, JSON.stringify(notice)]);
    });
    return this.get(tenantId, id);
  }
}
