import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { newId, signVaultKey } from '@keyvault/crypto';
import { revokeVaultKeys, scopedStatements, withTenant, type CaptureLevel } from '@keyvault/db';
import { KeyvaultError, notFound } from '@keyvault/errors';
import { formatDuration, LIFETIME_PERIOD, missingKeyCap, parseDuration, parseEndpointRule, usdToNanos } from '@keyvault/policy';
import { ApiKeyVerifier } from '../auth/api-key-verifier.service';
import { SigningKeysService } from '../signing-keys/signing-keys.service';
import type { CreateVaultKeyDto } from './dto/create-vault-key.dto';
import type { ListVaultKeysQueryDto, VaultKeyStatus } from './dto/list-vault-keys-query.dto';
import type { RevokeVaultKeysDto } from './dto/revoke-vault-keys.dto';
import { issuedGuardrails } from './guardrails';
import type { VaultKeyRecord } from './vault-key.view';

/** Recorded as revoked_reason and sent in the vault_key.revoked webhook. */
const REVOKED_BY_ID = 'revoked_by_id';
const REVOKED_IN_BULK = 'revoked_in_bulk';

const STATUS_SQL = `CASE WHEN k.revoked_at IS NOT NULL THEN 'revoked' WHEN k.expires_at <= now() THEN 'expired' ELSE 'active' END`;
const STATUS_FILTERS: Record<VaultKeyStatus, string> = {
  active: 'k.revoked_at IS NULL AND k.expires_at > now()',
  revoked: 'k.revoked_at IS NOT NULL',
  expired: 'k.revoked_at IS NULL AND k.expires_at <= now()',
};

/** The record plus today's spend (UTC day, as the proxy's ledger keys it) and the profile's name. */
const SELECT_RECORDS = `
  SELECT k.id, k.vendor, k.credential_id, c.name AS credential_name, k.daily_cap_nanos, k.allowed_endpoints, k.allowed_headers,
         k.max_call_nanos, k.allowed_models, k.duplicate_window_seconds, k.max_calls_per_minute, k.max_tokens_per_minute,
         k.expires_at, k.label, k.metadata, k.revoked_at, k.created_at, ${STATUS_SQL} AS status,
         k.key_group, k.fallback_to_shared,
         k.capture, k.allowed_inputs,
         COALESCE(s.spent_nanos, 0) AS spent_today_nanos, COALESCE(s.reserved_nanos, 0) AS reserved_nanos,
         k.total_cap_nanos,
         -- a key with a lifetime cap has its life's ledger; any other, the sum of its days
         CASE WHEN k.total_cap_nanos IS NULL
              THEN (SELECT COALESCE(sum(d.spent_nanos), 0) FROM vault_key_spend d WHERE d.vault_key_id = k.id)
              ELSE COALESCE(b.spent_nanos, 0) END AS total_spent_nanos,
         CASE WHEN k.total_cap_nanos IS NULL
              THEN (SELECT COALESCE(sum(d.reserved_nanos), 0) FROM vault_key_spend d WHERE d.vault_key_id = k.id)
              ELSE COALESCE(b.reserved_nanos, 0) END AS total_reserved_nanos
    FROM vault_keys k
    LEFT JOIN credential_profiles c ON c.id = k.credential_id
    LEFT JOIN vault_key_spend s ON s.vault_key_id = k.id AND s.day = (now() AT TIME ZONE 'UTC')::date
    LEFT JOIN budget_spend b ON b.subject_id = k.id AND b.period = '${LIFETIME_PERIOD}'`;

interface RecordRow {
  id: string;
  vendor: string;
  credential_id: string;
  credential_name: string | null;
  daily_cap_nanos: string | null;
  total_cap_nanos: string | null;
  total_spent_nanos: string;
  total_reserved_nanos: string;
  max_call_nanos: string | null;
  allowed_models: string[] | null;
  duplicate_window_seconds: number;
  max_calls_per_minute: number | null;
  max_tokens_per_minute: number | null;
  allowed_inputs: string[] | null;
  allowed_endpoints: string[];
  allowed_headers: string[];
  expires_at: Date;
  label: string | null;
  metadata: Record<string, string>;
  capture: CaptureLevel;
  revoked_at: Date | null;
  created_at: Date;
  status: VaultKeyStatus;
  spent_today_nanos: string;
  reserved_nanos: string;
  key_group: string | null;
  fallback_to_shared: boolean;
}

/**
 * Reads what issuing depends on (the calling API key's row, the tenant's status and max TTL,
 * the profile named or the vendor's default) and inserts the key only when all of it allows;
 * the caller learns which check failed from the context returned. $1 id, $2 tenant, $3
 * credential name or id (null: the default), $4 vendor, $5 TTL seconds, $6..$11 the row's
 * policy, $12 the calling tenant API key (null: the admin token), $13–$14 the guardrails,
 * $15 key_group (null: the shared keys; else the profile must hold an active key of that group),
 * $16 fallback_to_shared, $17 duplicate_window seconds, $18 max_calls_per_minute, $19 capture, $20 max_tokens_per_minute,
 * $21 allowed_inputs, $22 total_cap_nanos ($6, the daily cap, may be null beside it).
 */
const ISSUE_SQL = `
  WITH ctx AS (
    SELECT t.status, t.max_vault_key_ttl_seconds AS max_ttl_seconds,
           c.id AS credential_id, c.name AS credential_name, c.vendor AS credential_vendor,
           ($12::text IS NULL OR EXISTS (SELECT 1 FROM tenant_api_keys a WHERE a.id = $12 AND a.tenant_id = t.id)) AS api_key_live,
           ($15::text IS NULL OR EXISTS (SELECT 1 FROM credential_keys g WHERE g.credential_id = c.id AND g.status = 'active' AND g.key_group = $15)) AS key_group_known
      FROM tenants t
      LEFT JOIN LATERAL (
        SELECT p.id, p.name, p.vendor FROM credential_profiles p
         WHERE p.tenant_id = t.id AND p.deleted_at IS NULL
           AND CASE WHEN $3::text IS NULL THEN p.is_default AND p.vendor = $4 ELSE p.id = $3 OR p.name = $3 END
         ORDER BY p.id = $3 DESC
         LIMIT 1
      ) c ON true
     WHERE t.id = $2
  ), inserted AS (
    INSERT INTO vault_keys (id, tenant_id, credential_id, vendor, daily_cap_nanos, allowed_endpoints, expires_at, label, metadata, created_at,
                            max_call_nanos, allowed_models, duplicate_window_seconds, key_group, fallback_to_shared, max_calls_per_minute,
                            capture, max_tokens_per_minute, allowed_inputs, total_cap_nanos)
    SELECT $1, $2, ctx.credential_id, $4, $6::bigint, $7::text[], $8::timestamptz, $9::text, $10::jsonb, $11::timestamptz,
           $13::bigint, $14::text[], $17::int, $15::text, $16::boolean, $18::int,
           $19::text, $20::int, $21::text[], $22::bigint FROM ctx
     WHERE ctx.api_key_live AND ctx.status = 'active' AND $5::int <= ctx.max_ttl_seconds AND ctx.credential_vendor = $4
       AND ctx.key_group_known
    RETURNING 1
  )
  SELECT ctx.*, EXISTS (SELECT 1 FROM inserted) AS inserted FROM ctx`;

interface IssueRow {
  status: 'active' | 'disabled';
  max_ttl_seconds: number;
  credential_id: string | null;
  credential_name: string | null;
  credential_vendor: string | null;
  api_key_live: boolean;
  key_group_known: boolean;
  inserted: boolean;
}

type Queryable = Pick<EntityManager, 'query'>;

@Injectable()
export class VaultKeysService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly signingKeys: SigningKeysService,
    private readonly apiKeys: ApiKeyVerifier,
  ) {}

  /**
   * Issuing is on every chat's path, so it is one prepared statement (confirm the calling API
   * key, read the tenant and the profile, insert when they allow it) and one signature: no
   * hashing (the token is a signed statement, not a stored secret) and nothing else written.
   * `apiKeyId` is the calling tenant API key, whose row the guard left to this statement
   * (@ApiKeyConfirmedByHandler); null for the admin token.
   */
  async issue(tenantId: string, dto: CreateVaultKeyDto, apiKeyId: string | null): Promise<{ key: VaultKeyRecord; token: string }> {
    checkEndpointRules(dto.allowed_endpoints);
    const dailyCapNanos = dto.daily_usd_cap === undefined ? null : usdToNanos(dto.daily_usd_cap)!;
    const totalCapNanos = dto.total_usd_cap === undefined ? null : usdToNanos(dto.total_usd_cap)!;
    const noCap = missingKeyCap(dailyCapNanos, totalCapNanos);
    if (noCap) throw new KeyvaultError('cap_required', noCap, 'daily_usd_cap');
    const guardrails = issuedGuardrails(dto);
    const allowedHeaders = checkAllowedHeaders(dto.allowed_headers ?? []);
    const ttlSeconds = parseDuration(dto.expires_in)!;
    const now = Date.now();
    const iat = Math.floor(now / 1000);
    const exp = iat + ttlSeconds;
    const key: Omit<VaultKeyRecord, 'credentialId' | 'credentialName'> = {
      id: newId('vaultKey', now),
      vendor: dto.vendor,
      dailyCapNanos,
      totalCapNanos,
      totalSpentNanos: 0n,
      totalReservedNanos: 0n,
      ...guardrails,
      allowedEndpoints: dto.allowed_endpoints,
      allowedHeaders,
      // the row and the token's exp claim name the same second
      expiresAt: new Date(exp * 1000),
      label: dto.label ?? null,
      metadata: dto.metadata ?? {},
      capture: dto.capture ?? 'none',
      status: 'active',
      spentTodayNanos: 0n,
      reservedNanos: 0n,
      revokedAt: null,
      createdAt: new Date(now),
      keyGroup: dto.key_group ?? null,
      fallbackToShared: dto.fallback_to_shared ?? false,
    };
    if (key.fallbackToShared && key.keyGroup === null) {
      throw new KeyvaultError('parameter_invalid', 'fallback_to_shared needs a key_group to fall back from.', 'fallback_to_shared');
    }
    const issue = {
      name: 'kv_issue_vault_key',
      text: ISSUE_SQL,
      values: [
        key.id, tenantId, dto.credential ?? null, key.vendor, ttlSeconds, key.dailyCapNanos?.toString() ?? null,
        key.allowedEndpoints, key.expiresAt, key.label, JSON.stringify(key.metadata), key.createdAt, apiKeyId,
        guardrails.maxCallNanos?.toString() ?? null, guardrails.allowedModels,
        key.keyGroup, key.fallbackToShared, guardrails.duplicateWindowSeconds, guardrails.maxCallsPerMinute,
        key.capture, guardrails.maxTokensPerMinute, guardrails.allowedInputs, key.totalCapNanos?.toString() ?? null,
      ],
    };
    // issue 22: the rare key that allows more headers gets them in the same transaction, before
    // the token exists (a key not inserted has no row to update)
    const headers = { name: 'kv_vault_key_headers', text: 'UPDATE vault_keys SET allowed_headers = $2 WHERE id = $1 AND tenant_id = $3', values: [key.id, allowedHeaders, tenantId] };
    const [[ctx]] = await scopedStatements<IssueRow>(this.db, { tenantId }, allowedHeaders.length > 0 ? [issue, headers] : [issue]);
    // a deleted tenant takes its API keys with it: for a key's caller both read as a deleted key
    if (apiKeyId !== null && !ctx?.api_key_live) {
      this.apiKeys.forget(apiKeyId);
      throw new KeyvaultError('invalid_api_key', 'Invalid API key provided.');
    }
    if (!ctx) throw notFound('tenant', tenantId);
    if (!ctx.inserted) throw refusal(ctx, dto, ttlSeconds);
    const token = await signVaultKey(this.signingKeys.signer(), { sub: key.id, ten: tenantId, ven: key.vendor, exp, iat });
    return { key: { ...key, credentialId: ctx.credential_id!, credentialName: ctx.credential_name }, token };
  }

  /** Reads run confined to the tenant by row-level security too (withTenant), behind the filters. */
  async list(tenantId: string, q: ListVaultKeysQueryDto): Promise<{ rows: VaultKeyRecord[]; has_more: boolean }> {
    return withTenant(this.db, tenantId, async (m) => {
      const where: string[] = [];
      const params: unknown[] = [];
      const param = (v: unknown) => `$${params.push(v) + 1}`; // $1 is the tenant
      if (q.status) where.push(STATUS_FILTERS[q.status]);
      if (q.label !== undefined) where.push(`k.label = ${param(q.label)}`);
      if (q.credential !== undefined) where.push(`k.credential_id = ${param((await this.credentialRef(m, tenantId, q.credential)).id)}`);
      // @> so that the GIN index (jsonb_path_ops) serves it
      if (q.metadata && Object.keys(q.metadata).length > 0) where.push(`k.metadata @> ${param(JSON.stringify(q.metadata))}::jsonb`);
      if (q.starting_after) where.push(`k.id < ${param(q.starting_after)}`);
      const rows = await this.select(m, tenantId, where, params, q.limit + 1);
      return { rows: rows.slice(0, q.limit), has_more: rows.length > q.limit };
    });
  }

  async get(tenantId: string, id: string): Promise<VaultKeyRecord> {
    const [row] = await withTenant(this.db, tenantId, (m) => this.select(m, tenantId, ['k.id = $2'], [id], 1));
    if (!row) throw notFound('vault key', id);
    return row;
  }

  /** Idempotent: an already revoked key is answered as it is. */
  async revoke(tenantId: string, id: string): Promise<VaultKeyRecord> {
    return withTenant(this.db, tenantId, async (m) => {
      await revokeVaultKeys(m, tenantId, { ids: [id] }, REVOKED_BY_ID);
      const [row] = await this.select(m, tenantId, ['k.id = $2'], [id], 1);
      if (!row) throw notFound('vault key', id);
      return row;
    });
  }

  /** Revokes every active key matching all the filters given; returns how many. */
  async revokeMatching(tenantId: string, dto: RevokeVaultKeysDto): Promise<number> {
    const metadata = dto.metadata && Object.keys(dto.metadata).length > 0 ? dto.metadata : undefined;
    if (dto.label === undefined && dto.credential === undefined && !metadata) {
      throw new KeyvaultError('parameter_missing', 'Name at least one of label, credential or metadata to choose the vault keys to revoke.');
    }
    return withTenant(this.db, tenantId, async (m) => {
      const credentialId = dto.credential === undefined ? undefined : (await this.credentialRef(m, tenantId, dto.credential)).id;
      const ids = await revokeVaultKeys(m, tenantId, { label: dto.label, credentialId, metadata }, REVOKED_IN_BULK);
      return ids.length;
    });
  }

  /**
   * A profile named by id or by name, for filters: an id also finds a deleted profile (its keys'
   * history stays reachable); a name only a live one (names are reused after deletion).
   */
  private async credentialRef(q: Queryable, tenantId: string, ref: string): Promise<{ id: string }> {
    const [row]: { id: string }[] = await q.query(
      `SELECT id FROM credential_profiles
        WHERE tenant_id = $1 AND (id = $2 OR (name = $2 AND deleted_at IS NULL))
        ORDER BY id = $2 DESC LIMIT 1`,
      [tenantId, ref],
    );
    if (!row) throw notFound('credential profile', ref, 'credential');
    return row;
  }

  /** Newest first; `where` uses $2.. for `params`, $1 is always the tenant. */
  private async select(q: Queryable, tenantId: string, where: string[], params: unknown[], limit: number): Promise<VaultKeyRecord[]> {
    const rows: RecordRow[] = await q.query(
      `${SELECT_RECORDS}
        WHERE ${['k.tenant_id = $1', ...where].join(' AND ')}
        ORDER BY k.id DESC
        LIMIT ${Number(limit)}`,
      [tenantId, ...params],
    );
    return rows.map(toRecord);
  }
}

/** Why ISSUE_SQL inserted nothing, checked in the order a caller would fix them. */
function refusal(ctx: IssueRow, dto: CreateVaultKeyDto, ttlSeconds: number): KeyvaultError {
  if (ctx.status === 'disabled') return new KeyvaultError('tenant_disabled', 'This tenant is disabled: it cannot issue vault keys.');
  if (ttlSeconds > ctx.max_ttl_seconds) {
    return new KeyvaultError('ttl_exceeds_tenant_max', `expires_in may be at most ${formatDuration(ctx.max_ttl_seconds)} for this tenant.`, 'expires_in');
  }
  if (!ctx.credential_id) {
    if (dto.credential !== undefined) return notFound('credential profile', dto.credential, 'credential');
    return new KeyvaultError(
      'no_default_credential',
      `This tenant has no default credential profile for ${dto.vendor}: name one in credential.`,
      'credential',
    );
  }
  if (ctx.credential_vendor !== dto.vendor) {
    return new KeyvaultError(
      'parameter_invalid',
      `Credential profile '${ctx.credential_name}' is for ${ctx.credential_vendor}, not ${dto.vendor}.`,
      'credential',
    );
  }
  if (!ctx.key_group_known) {
    return new KeyvaultError('unknown_key_group', `Credential profile '${ctx.credential_name}' has no active key in group '${dto.key_group}'.`, 'key_group');
  }
  throw new Error('vault key insert refused for no known reason');
}

/** Longest allowed_endpoints entry: vendor paths are short, and every proxied call matches them all. */
const MAX_RULE_LENGTH = 500;

/** Every entry must parse as the proxy will parse it; the first bad one is reported by index. */
function checkEndpointRules(entries: readonly unknown[]): void {
  entries.forEach((entry, i) => {
    if (typeof entry === 'string' && entry.length > MAX_RULE_LENGTH) {
      throw new KeyvaultError('parameter_invalid', `allowed_endpoints.${i} may be at most ${MAX_RULE_LENGTH} characters`, `allowed_endpoints.${i}`);
    }
    const parsed = parseEndpointRule(entry);
    if (!parsed.ok) throw new KeyvaultError('parameter_invalid', `allowed_endpoints.${i} ${parsed.message}`, `allowed_endpoints.${i}`);
  });
}

/** Never allowed through, whatever a key says: credential carriers, what the proxy sets itself, hop-by-hop headers. */
const NEVER_ALLOWED = new Set([
  'authorization', 'x-api-key', 'proxy-authorization', 'proxy-authenticate', 'host', 'content-length', 'expect',
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'x-run-id', 'x-dify-workflow-run-id', 'x-conversation-id',
]);

/** allowed_headers entries, lowercased and deduplicated; the first bad one is reported by index. */
function checkAllowedHeaders(entries: readonly string[]): string[] {
  const names = entries.map((entry, i) => {
    const name = entry.toLowerCase();
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]{1,100}$/.test(name)) {
      throw new KeyvaultError('parameter_invalid', `allowed_headers.${i} must be an HTTP header name`, `allowed_headers.${i}`);
    }
    if (NEVER_ALLOWED.has(name)) {
      throw new KeyvaultError('parameter_invalid', `allowed_headers.${i} (${name}) can never be let through`, `allowed_headers.${i}`);
    }
    return name;
  });
  return [...new Set(names)];
}

function toRecord(r: RecordRow): VaultKeyRecord {
  return {
    id: r.id,
    vendor: r.vendor,
    credentialId: r.credential_id,
    credentialName: r.credential_name,
    dailyCapNanos: r.daily_cap_nanos === null ? null : BigInt(r.daily_cap_nanos),
    totalCapNanos: r.total_cap_nanos === null ? null : BigInt(r.total_cap_nanos),
    totalSpentNanos: BigInt(r.total_spent_nanos),
    totalReservedNanos: BigInt(r.total_reserved_nanos),
    maxCallNanos: r.max_call_nanos === null ? null : BigInt(r.max_call_nanos),
    allowedModels: r.allowed_models,
    duplicateWindowSeconds: r.duplicate_window_seconds,
    maxCallsPerMinute: r.max_calls_per_minute,
    maxTokensPerMinute: r.max_tokens_per_minute,
    allowedInputs: r.allowed_inputs,
    allowedEndpoints: r.allowed_endpoints,
    allowedHeaders: r.allowed_headers,
    expiresAt: r.expires_at,
    label: r.label,
    metadata: r.metadata,
    capture: r.capture,
    status: r.status,
    spentTodayNanos: BigInt(r.spent_today_nanos),
    reservedNanos: BigInt(r.reserved_nanos),
    revokedAt: r.revoked_at,
    createdAt: r.created_at,
    keyGroup: r.key_group,
    fallbackToShared: r.fallback_to_shared,
  };
}
