import type { EntityManager } from 'typeorm';
import { newId } from '@keyvault/crypto';
import type { WebhookEventType } from './entities';

/**
 * The webhook outbox. Callers pass the EntityManager of the transaction that caused the event,
 * so the event exists exactly when its cause does. `dedupeKey` makes "once per key per day"
 * events idempotent under any concurrency (unique index; the second insert does nothing).
 * Deliveries are created for every live webhook of the tenant subscribed to the type
 * (for cap_threshold, only those whose threshold_pct matches `thresholdPct`).
 */
export async function enqueueWebhookEvent(
  manager: EntityManager,
  event: {
    tenantId: string;
    type: WebhookEventType;
    payload: Record<string, unknown>;
    dedupeKey?: string;
    thresholdPct?: number;
  },
): Promise<string | null> {
  const id = newId('webhookEvent');
  const inserted: { id: string }[] = await manager.query(
    `INSERT INTO webhook_events (id, tenant_id, type, dedupe_key, payload)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
    [id, event.tenantId, event.type, event.dedupeKey ?? null, JSON.stringify(event.payload)],
  );
  if (inserted.length === 0) return null;
  const webhooks: { id: string }[] = await manager.query(
    `SELECT id FROM webhooks
      WHERE tenant_id = $1 AND deleted_at IS NULL AND $2 = ANY(events)
        AND ($3::int IS NULL OR threshold_pct = $3)`,
    [event.tenantId, event.type, event.thresholdPct ?? null],
  );
  for (const w of webhooks) {
    await manager.query(
      `INSERT INTO webhook_deliveries (id, tenant_id, webhook_id, event_id, next_attempt_at)
       VALUES ($1, $2, $3, $4, now()) ON CONFLICT DO NOTHING`,
      [newId('webhookDelivery'), event.tenantId, w.id, id],
    );
  }
  return id;
}

/**
 * After a key's spend for `day` moved from `before` to `after` nano-dollars (inside the same
 * transaction), enqueue cap_threshold for every subscribed threshold crossed and cap_reached
 * when the cap is hit. Each fires at most once per key per UTC day.
 */
export async function enqueueSpendEvents(
  manager: EntityManager,
  s: { tenantId: string; vaultKeyId: string; day: string; before: bigint; after: bigint; cap: bigint },
): Promise<void> {
  if (s.after <= s.before || s.cap <= 0n) return;
  // In a fixed order: two transactions crossing the same thresholds then wait on each other's
  // dedupe-key inserts in the same sequence, never in a cycle (deadlock).
  const thresholds: { threshold_pct: number }[] = await manager.query(
    `SELECT DISTINCT threshold_pct FROM webhooks
      WHERE tenant_id = $1 AND deleted_at IS NULL AND 'vault_key.cap_threshold' = ANY(events)
      ORDER BY threshold_pct`,
    [s.tenantId],
  );
  const base = { vault_key_id: s.vaultKeyId, day: s.day, daily_usd_cap_nanos: s.cap.toString(), spent_nanos: s.after.toString() };
  for (const { threshold_pct } of thresholds) {
    const mark = (s.cap * BigInt(threshold_pct)) / 100n;
    if (s.before < mark && s.after >= mark) {
      await enqueueWebhookEvent(manager, {
        tenantId: s.tenantId,
        type: 'vault_key.cap_threshold',
        payload: { ...base, threshold_pct },
        dedupeKey: `cap_threshold:${s.vaultKeyId}:${s.day}:${threshold_pct}`,
        thresholdPct: threshold_pct,
      });
    }
  }
  if (s.before < s.cap && s.after >= s.cap) {
    await enqueueWebhookEvent(manager, {
      tenantId: s.tenantId,
      type: 'vault_key.cap_reached',
      payload: base,
      dedupeKey: `cap_reached:${s.vaultKeyId}:${s.day}`,
    });
  }
}

/**
 * After a credential profile's spend for one period (its UTC day `YYYY-MM-DD`, or its calendar
 * month `YYYY-MM`) moved from `before` to `after` nano-dollars (inside the same transaction):
 * credential.cap_threshold for every subscribed threshold crossed, credential.cap_reached when
 * the cap is hit, each at most once per profile, period and level (issue 19). The same marks as
 * a vault key's (enqueueSpendEvents).
 */
export async function enqueueCredentialCapEvents(
  manager: EntityManager,
  s: { tenantId: string; credentialId: string; level: 'credential_daily' | 'credential_monthly'; period: string; before: bigint; after: bigint; cap: bigint },
): Promise<void> {
  if (s.after <= s.before || s.cap <= 0n) return;
  const thresholds: { threshold_pct: number }[] = await manager.query(
    `SELECT DISTINCT threshold_pct FROM webhooks
      WHERE tenant_id = $1 AND deleted_at IS NULL AND 'credential.cap_threshold' = ANY(events)
      ORDER BY threshold_pct`,
    [s.tenantId],
  );
  const cap = s.level === 'credential_daily' ? 'daily_usd_cap' : 'monthly_usd_cap';
  const base = { credential_id: s.credentialId, cap, period: s.period, cap_nanos: s.cap.toString(), spent_nanos: s.after.toString() };
  for (const { threshold_pct } of thresholds) {
    const mark = (s.cap * BigInt(threshold_pct)) / 100n;
    if (s.before < mark && s.after >= mark) {
      await enqueueWebhookEvent(manager, {
        tenantId: s.tenantId,
        type: 'credential.cap_threshold',
        payload: { ...base, threshold_pct },
        dedupeKey: `credential_cap_threshold:${s.credentialId}:${s.period}:${threshold_pct}`,
        thresholdPct: threshold_pct,
      });
    }
  }
  if (s.before < s.cap && s.after >= s.cap) {
    await enqueueWebhookEvent(manager, {
      tenantId: s.tenantId,
      type: 'credential.cap_reached',
      payload: base,
      dedupeKey: `credential_cap_reached:${s.credentialId}:${s.period}`,
    });
  }
}
