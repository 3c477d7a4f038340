import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { aad, MasterKeyring, newTenantDataKey, open, seal, unwrapTenantDataKey } from '@keyvault/crypto';
import { withTenant } from '@keyvault/db';
import { notFound } from '@keyvault/errors';
import { notifyCredentials } from '../credentials/credentials-notice';

export interface DataKeyRotation {
  tenantId: string;
  version: number;
  credentialKeys: number;
  webhookSecrets: number;
}

interface SealedRow {
  id: string;
  sealed: Buffer;
}

/**
 * Replaces a tenant's data key. Everything sealed under the old key (provider keys, webhook
 * secrets, captured calls) is re-sealed under the new one and the tenant row switches version, all in one
 * transaction: a reader that loads the tenant row and the rows it seals in one statement (one
 * snapshot) sees either all old or all new, never a mix, so it never fails to decrypt.
 */
@Injectable()
export class TenantKeysService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly keyring: MasterKeyring,
  ) {}

  async rotateDataKey(tenantId: string): Promise<DataKeyRotation> {
    return withTenant(this.db, tenantId, async (m) => {
      // FOR UPDATE waits for every transaction that is sealing under the current key (they hold
      // the row FOR SHARE) and keeps new ones out until the switch is committed.
      const rows: { id: string; data_key_wrapped: Buffer; data_key_master_key_id: string; data_key_version: number }[] = await m.query(
        'SELECT id, data_key_wrapped, data_key_master_key_id, data_key_version FROM tenants WHERE id = $1 FOR UPDATE',
        [tenantId],
      );
      const t = rows[0];
      if (!t) throw notFound('tenant', tenantId);
      const oldKey = unwrapTenantDataKey(this.keyring, {
        id: t.id,
        dataKeyWrapped: t.data_key_wrapped,
        dataKeyMasterKeyId: t.data_key_master_key_id,
        dataKeyVersion: t.data_key_version,
      });
      const next = newTenantDataKey(this.keyring, tenantId, t.data_key_version + 1);
      try {
        const reseal = (sealedAad: (id: string) => string) => (row: SealedRow) => {
          const plaintext = open(oldKey, row.sealed, sealedAad(row.id));
          try {
            return seal(next.dataKey, plaintext, sealedAad(row.id));
          } finally {
            plaintext.fill(0);
          }
        };
        const credentialKeys = await resealAll(
          m,
          'SELECT id, sealed FROM credential_keys WHERE tenant_id = $1 FOR UPDATE',
          'UPDATE credential_keys SET sealed = $2, data_key_version = $3 WHERE id = $1',
          tenantId,
          next.version,
          reseal((id) => aad.providerKey(tenantId, id)),
        );
        const webhookSecrets = await resealAll(
          m,
          'SELECT id, secret_sealed AS sealed FROM webhooks WHERE tenant_id = $1 FOR UPDATE',
          'UPDATE webhooks SET secret_sealed = $2, data_key_version = $3 WHERE id = $1',
          tenantId,
          next.version,
          reseal((id) => aad.webhookSecret(tenantId, id)),
        );
        // captured calls (issue 21); the proxy seals them holding the tenant row FOR SHARE, like the api
        await resealAll(
          m,
          'SELECT audit_id AS id, sealed FROM audit_captures WHERE tenant_id = $1 FOR UPDATE',
          'UPDATE audit_captures SET sealed = $2, data_key_version = $3 WHERE audit_id = $1',
          tenantId,
          next.version,
          reseal((id) => aad.auditCapture(tenantId, id)),
        );
        await m.query(
          'UPDATE tenants SET data_key_wrapped = $2, data_key_master_key_id = $3, data_key_version = $4, updated_at = now() WHERE id = $1',
          [tenantId, next.wrapped, next.masterKeyId, next.version],
        );
        await notifyCredentials(m, { tenant_id: tenantId });
        return { tenantId, version: next.version, credentialKeys, webhookSecrets };
      } finally {
        oldKey.fill(0);
        next.dataKey.fill(0);
      }
    });
  }
}

async function resealAll(
  m: EntityManager,
  select: string,
  update: string,
  tenantId: string,
  version: number,
  reseal: (row: SealedRow) => Buffer,
): Promise<number> {
  const rows: SealedRow[] = await m.query(select, [tenantId]);
  for (const row of rows) await m.query(update, [row.id, reseal(row), version]);
  return rows.length;
}
