import { newId } from '@keyvault/crypto';
import { queryDb } from '@keyvault/testing';

/** An audit row as the proxy writes it; tests insert them directly (the proxy is another app). */
export interface AuditSeed {
  tenant_id: string;
  /** when the call happened (ms): the id is minted from it, as the proxy does */
  at: number;
  vault_key_id?: string | null;
  vendor?: string;
  method?: string;
  path?: string;
  status?: number;
  error_code?: string | null;
  cost_nanos?: number;
  duration_ms?: number;
  run_id?: string | null;
  conversation_id?: string | null;
  provider_key_id?: string | null;
  credential_id?: string | null;
}

/** Inserts rows and returns their ids, in the order given. */
export async function insertAuditRows(dbUrl: string, seeds: AuditSeed[]): Promise<string[]> {
  const rows = seeds.map((s) => ({
    id: newId('audit', s.at),
    tenant_id: s.tenant_id,
    vault_key_id: s.vault_key_id ?? null,
    credential_id: s.credential_id ?? null,
    provider_key_id: s.provider_key_id ?? null,
    vendor: s.vendor ?? 'openai',
    method: s.method ?? 'POST',
    path: s.path ?? '/v1/chat/completions',
    status: s.status ?? 200,
    error_code: s.error_code ?? null,
    cost_nanos: String(s.cost_nanos ?? 0),
    duration_ms: s.duration_ms ?? 100,
    run_id: s.run_id ?? null,
    conversation_id: s.conversation_id ?? null,
    created_at: new Date(s.at).toISOString(),
  }));
  await queryDb(dbUrl, 'INSERT INTO audit_log SELECT * FROM json_populate_recordset(NULL::audit_log, $1)', [JSON.stringify(rows)]);
  return rows.map((r) => r.id);
}

/**
 * `n` rows for one tenant in one statement, one millisecond apart from `startMs`, ids minted in
 * SQL with the same layout as newId (10 base32 characters of milliseconds, then a unique tail).
 * Each row's path is padded to `pathChars`, so tests control the export's size.
 */
export async function fillAuditRows(dbUrl: string, tenantId: string, n: number, startMs: number, pathChars = 40): Promise<void> {
  await queryDb(
    dbUrl,
    `INSERT INTO audit_log (id, tenant_id, vault_key_id, credential_id, provider_key_id, vendor, method, path, status,
                            error_code, cost_nanos, duration_ms, run_id, conversation_id, created_at)
     SELECT 'aud_' || (SELECT string_agg(substr('0123456789abcdefghjkmnpqrstvwxyz', ((($2::bigint + g) >> (5 * (9 - i))) & 31)::int + 1, 1), '' ORDER BY i)
                         FROM generate_series(0, 9) i) || lpad(g::text, 16, '0'),
            $1, 'vk_fill' || (g % 10), 'cred_fill', 'ck_fill', 'openai', 'POST',
            rpad('/v1/chat/completions/' || g, $4::int, '-'), 200, NULL, g, 50, 'run_' || (g / 100), NULL,
            to_timestamp(($2::bigint + g) / 1000.0)
       FROM generate_series(1, $3::int) g`,
    [tenantId, startMs, n, pathChars],
  );
}
