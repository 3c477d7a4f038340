import type { ApiHarness } from './api';
import type { ProxyFixtures } from './proxy-fixtures';
import { eventually } from './wait';

/** An audit row as `GET /audit` lists it. */
export interface AuditEntry {
  id: string;
  vault_key_id: string;
  vendor: string;
  method: string;
  path: string;
  status: number;
  cost_usd: number;
  provider_key_id: string | null;
}

/**
 * What a proxied call cost, read the way an operator reads it: `spent_today_usd` from
 * `GET /vault/keys/{id}` once the call's reservation has settled (settling finishes after the
 * response), and the audit rows from `GET /audit`.
 */
export function spendChecks(api: ApiHarness, fx: ProxyFixtures, tenantId: string) {
  const get = (path: string) => api.admin().get(path).set('Keyvault-Tenant', tenantId);
  /** nano-dollars spent and still reserved, straight from the ledger (undefined: nothing was ever reserved) */
  const ledger = async (vaultKeyId: string): Promise<{ spent_nanos: string; reserved_nanos: string } | undefined> =>
    (await fx.query<{ spent_nanos: string; reserved_nanos: string }>('SELECT spent_nanos, reserved_nanos FROM vault_key_spend WHERE vault_key_id = $1', [vaultKeyId]))[0];

  return {
    ledger,
    /** `spent_today_usd` once nothing is reserved any more */
    async spentTodayUsd(vaultKeyId: string): Promise<number> {
      await eventually(async () => (await ledger(vaultKeyId))?.reserved_nanos === '0', 'the reservation to settle');
      const res = await get(`/vault/keys/${vaultKeyId}`);
      if (res.status !== 200) throw new Error(`GET /vault/keys/${vaultKeyId} → ${res.status}`);
      return (res.body as { spent_today_usd: number }).spent_today_usd;
    },
    /** the key's audit rows, oldest first, once `n` of them are written with their outcome */
    auditRows: (vaultKeyId: string, n = 1): Promise<AuditEntry[]> =>
      eventually(async () => {
        const res = await get(`/audit?vault_key=${vaultKeyId}&limit=100`);
        const rows = (res.body as { data?: AuditEntry[] }).data ?? [];
        // a call's audit row is written with its outcome (status 0 only for an interrupted call)
        return rows.length >= n && rows.every((r) => r.status !== 0) && [...rows].reverse();
      }, `${n} audit row(s) with their outcome`),
  };
}
