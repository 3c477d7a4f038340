import type { EntityManager } from 'typeorm';
import { CHANNELS } from './notify';
import { enqueueWebhookEvent } from './outbox';

export interface RevocationFilter {
  ids?: string[];
  label?: string;
  credentialId?: string;
  /** every pair must match (metadata @> filter) */
  metadata?: Record<string, string>;
}

/** NOTIFY payloads are capped at 8000 bytes: ids go out in chunks. */
const IDS_PER_NOTICE = 200;

/**
 * Revokes the tenant's active vault keys that match, inside the caller's transaction: marks
 * them, tells every proxy instance (NOTIFY is delivered at commit), and enqueues one
 * `vault_key.revoked` webhook event per key. Returns the ids revoked. The one place revocation
 * happens, whether by id, in bulk, or because a profile was deleted.
 */
export async function revokeVaultKeys(
  manager: EntityManager,
  tenantId: string,
  filter: RevocationFilter,
  reason: string,
): Promise<string[]> {
  const where = ['tenant_id = $1', 'revoked_at IS NULL', 'expires_at > now()'];
  const params: unknown[] = [tenantId, reason];
  if (filter.ids) {
    params.push(filter.ids);
    where.push(`id = ANY($${params.length})`);
  }
  if (filter.label !== undefined) {
    params.push(filter.label);
    where.push(`label = $${params.length}`);
  }
  if (filter.credentialId !== undefined) {
    params.push(filter.credentialId);
    where.push(`credential_id = $${params.length}`);
  }
  if (filter.metadata && Object.keys(filter.metadata).length > 0) {
    params.push(JSON.stringify(filter.metadata));
    where.push(`metadata @> $${params.length}::jsonb`);
  }
  if (params.length === 2) throw new Error('revokeVaultKeys needs at least one filter');
  const rows: { id: string; label: string | null; credential_id: string; metadata: Record<string, string> }[] =
    (await manager.query(
      `UPDATE vault_keys SET revoked_at = now(), revoked_reason = $2
        WHERE ${where.join(' AND ')}
        RETURNING id, label, credential_id, metadata`,
      params,
    ))[0] ?? [];
  const ids = rows.map((r) => r.id);
  for (let i = 0; i < ids.length; i += IDS_PER_NOTICE) {
    await manager.query('SELECT pg_notify($1, $2)', [CHANNELS.vaultKeys, JSON.stringify({ vault_key_ids: ids.slice(i, i + IDS_PER_NOTICE) })]);
  }
  for (const r of rows) {
    await enqueueWebhookEvent(manager, {
      tenantId,
      type: 'vault_key.revoked',
      payload: { vault_key_id: r.id, label: r.label, credential_id: r.credential_id, metadata: r.metadata, reason },
      dedupeKey: `revoked:${r.id}`,
    });
  }
  return ids;
}
