import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, IsNull, QueryFailedError } from 'typeorm';
import type { ApiConfig, Vendor } from '@keyvault/config';
import { MasterKeyring, newId, sealProviderKey, type Secret } from '@keyvault/crypto';
import { CredentialKey, CredentialProfile, pageByCursor, revokeVaultKeys, withTenant } from '@keyvault/db';
import { KeyvaultError, notFound } from '@keyvault/errors';
import { usdToNanos } from '@keyvault/policy';
import { credentialSpend, seedBudget, type CredentialSpend } from '../budgets/budget-spend';
import { API_CONFIG } from '../config.providers';
import { withTenantDataKey } from '../tenant-keys/tenant-data-key';
import { checkBaseUrl } from './base-url';
import { notifyCredentials } from './credentials-notice';
import { MAX_ACTIVE_KEYS, type CreateCredentialDto } from './dto/create-credential.dto';
import type { UpdateCredentialDto } from './dto/update-credential.dto';

/** What the api reads of a provider key: everything but the sealed key itself. */
export type CredentialKeySummary = Pick<CredentialKey, 'id' | 'credentialId' | 'last4' | 'status' | 'position' | 'createdAt' | 'retiredAt' | 'group'>;
export interface CredentialWithKeys {
  profile: CredentialProfile;
  keys: CredentialKeySummary[];
  /** its budgets' spend now (issue 19) */
  spend: CredentialSpend;
}

const CREDENTIAL_ID = /^cred_[0-9a-z]{26}$/;

/**
 * Credential profiles: one per client and vendor, holding that client's real provider keys,
 * each sealed under the tenant's data key. Plaintext keys arrive wrapped in `Secret` and are
 * revealed only to be sealed; nothing here returns, logs or throws them.
 */
@Injectable()
export class CredentialsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly keyring: MasterKeyring,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  async create(tenantId: string, dto: CreateCredentialDto): Promise<CredentialWithKeys> {
    assertDistinct(dto.keys);
    const baseUrl = await this.baseUrlFor(dto.vendor, dto.base_url);
    const id = newId('credential');
    return this.nameMustBeFree(dto.name, () =>
      withTenant(this.db, tenantId, (m) =>
        withTenantDataKey(m, this.keyring, tenantId, async (dataKey, version) => {
          await lockVendorDefault(m, tenantId, dto.vendor);
          // "The vendor's first profile becomes its default": any profile created while the
          // vendor has no default, so that vault keys naming no profile keep working.
          const isDefault = dto.default ?? !(await hasDefault(m, tenantId, dto.vendor));
          if (isDefault) await unsetDefault(m, tenantId, dto.vendor);
          await m.getRepository(CredentialProfile).insert({
            id,
            tenantId,
            name: dto.name,
            vendor: dto.vendor,
            strategy: dto.strategy ?? 'round_robin',
            baseUrl,
            isDefault,
            deletedAt: null,
            dailyCapNanos: capNanos(dto.daily_usd_cap) ?? null,
            monthlyCapNanos: capNanos(dto.monthly_usd_cap) ?? null,
          });
          await insertKeys(m, { tenantId, credentialId: id, dataKey, version, firstPosition: 0 }, dto.keys);
          await notifyCredentials(m, { credential_id: id });
          return load(m, tenantId, id);
        }),
      ),
    );
  }

  /** Reads run confined to the tenant by row-level security too (withTenant), behind the filters. */
  async list(tenantId: string, q: { limit: number; starting_after?: string; vendor?: Vendor }) {
    return withTenant(this.db, tenantId, async (m) => {
      const qb = m
        .getRepository(CredentialProfile)
        .createQueryBuilder('c')
        .where('c.tenant_id = :tenantId', { tenantId })
        .andWhere('c.deleted_at IS NULL');
      if (q.vendor) qb.andWhere('c.vendor = :vendor', { vendor: q.vendor });
      const { rows, has_more } = await pageByCursor(qb, 'c', q);
      const keys = await keysOf(m, tenantId, rows.map((p) => p.id));
      const spend = await credentialSpend(m, tenantId, rows.map((p) => p.id));
      return { rows: rows.map((profile) => ({ profile, keys: keys.filter((k) => k.credentialId === profile.id), spend: spend.get(profile.id)! })), has_more };
    });
  }

  async get(tenantId: string, idOrName: string): Promise<CredentialWithKeys> {
    return withTenant(this.db, tenantId, async (m) => {
      const profile = await findProfile(m, tenantId, idOrName);
      const spend = await credentialSpend(m, tenantId, [profile.id]);
      return { profile, keys: await keysOf(m, tenantId, [profile.id]), spend: spend.get(profile.id)! };
    });
  }

  async update(tenantId: string, idOrName: string, dto: UpdateCredentialDto): Promise<CredentialWithKeys> {
    // The vendor never changes, so it can be read before the transaction; the URL check may
    // wait on DNS and must not hold row locks meanwhile.
    const before = await withTenant(this.db, tenantId, (m) => findProfile(m, tenantId, idOrName));
    const baseUrl = dto.base_url === undefined ? undefined : await this.baseUrlFor(before.vendor as Vendor, dto.base_url);
    return this.nameMustBeFree(dto.name, () =>
      withTenant(this.db, tenantId, async (m) => {
        if (dto.default !== undefined) await lockVendorDefault(m, tenantId, before.vendor);
        const p = await findProfile(m, tenantId, before.id, { lock: true });
        if (dto.name !== undefined) p.name = dto.name;
        if (dto.strategy !== undefined) p.strategy = dto.strategy;
        if (baseUrl !== undefined) p.baseUrl = baseUrl;
        if (dto.default === true && !p.isDefault) await unsetDefault(m, tenantId, p.vendor);
        if (dto.default !== undefined) p.isDefault = dto.default;
        // budgets (issue 19): a cap newly set counts its period so far
        const daily = capNanos(dto.daily_usd_cap);
        const monthly = capNanos(dto.monthly_usd_cap);
        if (daily !== undefined && daily !== null && p.dailyCapNanos === null) await seedBudget(m, { tenantId, subjectId: p.id, level: 'credential_daily' });
        if (monthly !== undefined && monthly !== null && p.monthlyCapNanos === null) await seedBudget(m, { tenantId, subjectId: p.id, level: 'credential_monthly' });
        if (daily !== undefined) p.dailyCapNanos = daily;
        if (monthly !== undefined) p.monthlyCapNanos = monthly;
        await m.getRepository(CredentialProfile).save(p);
        await notifyCredentials(m, { credential_id: p.id });
        return load(m, tenantId, p.id);
      }),
    );
  }

  /** Adds one provider key; with `retireKey` this rotates a key without downtime. */
  async addKey(tenantId: string, idOrName: string, key: Secret, group: string | null = null): Promise<CredentialWithKeys> {
    return withTenant(this.db, tenantId, (m) =>
      withTenantDataKey(m, this.keyring, tenantId, async (dataKey, version) => {
        const p = await findProfile(m, tenantId, idOrName, { lock: true });
        const keys = await keysOf(m, tenantId, [p.id]);
        if (keys.filter((k) => k.status === 'active').length >= MAX_ACTIVE_KEYS) {
          throw new KeyvaultError('credential_key_limit', `A credential holds at most ${MAX_ACTIVE_KEYS} active keys: retire one first.`, 'key');
        }
        const firstPosition = Math.max(-1, ...keys.map((k) => k.position)) + 1;
        await insertKeys(m, { tenantId, credentialId: p.id, dataKey, version, firstPosition, group }, [key]);
        await touch(m, tenantId, p.id);
        await notifyCredentials(m, { credential_id: p.id });
        return load(m, tenantId, p.id);
      }),
    );
  }

  /** Retires a key: the proxy stops using it at once. The last active key cannot go. */
  async retireKey(tenantId: string, idOrName: string, keyId: string): Promise<CredentialWithKeys> {
    return withTenant(this.db, tenantId, async (m) => {
      const p = await findProfile(m, tenantId, idOrName, { lock: true });
      const keys = await keysOf(m, tenantId, [p.id]);
      const key = keys.find((k) => k.id === keyId);
      if (!key) throw notFound('credential key', keyId, 'key_id');
      if (key.status === 'retired') return load(m, tenantId, p.id);
      if (keys.filter((k) => k.status === 'active').length === 1) {
        throw new KeyvaultError('credential_key_last', 'This is the last active key of the credential: add another before retiring it.', 'key_id');
      }
      await m.query(`UPDATE credential_keys SET status = 'retired', retired_at = now() WHERE id = $1 AND tenant_id = $2`, [keyId, tenantId]);
      await touch(m, tenantId, p.id);
      await notifyCredentials(m, { credential_id: p.id });
      return load(m, tenantId, p.id);
    });
  }

  /**
   * Soft-deletes a profile (audit rows and vault keys keep a name to point at) and retires its
   * keys. Refused while active vault keys use it, unless they are revoked in the same
   * transaction.
   */
  async remove(tenantId: string, idOrName: string, revokeTheirVaultKeys: boolean): Promise<{ id: string; revoked: number }> {
    return withTenant(this.db, tenantId, async (m) => {
      const p = await findProfile(m, tenantId, idOrName, { lock: true });
      let revoked = 0;
      if (revokeTheirVaultKeys) {
        revoked = (await revokeVaultKeys(m, tenantId, { credentialId: p.id }, 'credential_deleted')).length;
      } else {
        const [{ n }]: { n: number }[] = await m.query(
          'SELECT count(*)::int AS n FROM vault_keys WHERE tenant_id = $1 AND credential_id = $2 AND revoked_at IS NULL AND expires_at > now()',
          [tenantId, p.id],
        );
        if (n > 0) {
          throw new KeyvaultError(
            'credential_in_use',
            `${n} active vault key(s) use this credential: revoke them first, or pass revoke_vault_keys=true.`,
            'id',
          );
        }
      }
      await m.query('UPDATE credential_profiles SET deleted_at = now(), is_default = false, updated_at = now() WHERE id = $1 AND tenant_id = $2', [p.id, tenantId]);
      await m.query(`UPDATE credential_keys SET status = 'retired', retired_at = now() WHERE credential_id = $1 AND tenant_id = $2 AND status = 'active'`, [p.id, tenantId]);
      await notifyCredentials(m, { credential_id: p.id });
      return { id: p.id, revoked };
    });
  }

  private async baseUrlFor(vendor: Vendor, raw: string | null | undefined): Promise<string | null> {
    if (raw === undefined || raw === null) {
      if (vendor === 'openai_compatible') {
        throw new KeyvaultError(raw === undefined ? 'parameter_missing' : 'parameter_invalid', 'base_url is required for openai_compatible credentials.', 'base_url');
      }
      return null;
    }
    return checkBaseUrl(raw, { allowPrivate: this.config.KEYVAULT_ALLOW_PRIVATE_UPSTREAMS });
  }

  private async nameMustBeFree<T>(name: string | undefined, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (name !== undefined && isUniqueViolation(err, 'uq_credential_profiles_name')) {
        throw new KeyvaultError('credential_name_taken', `A credential named '${name}' already exists.`, 'name');
      }
      throw err;
    }
  }
}

function assertDistinct(keys: Secret[]): void {
  if (new Set(keys.map((k) => k.reveal())).size !== keys.length) {
    throw new KeyvaultError('parameter_invalid', 'keys must not repeat a key.', 'keys');
  }
}

/** A cap from the JSON edge: undefined (unchanged), null (none), or nano-dollars. */
const capNanos = (usd: number | null | undefined): bigint | null | undefined => (usd == null ? usd : usdToNanos(usd)!);

/** By id when it is shaped like one, else by name; deleted profiles and other tenants' are 404. */
async function findProfile(m: EntityManager, tenantId: string, idOrName: string, { lock = false } = {}): Promise<CredentialProfile> {
  const match = CREDENTIAL_ID.test(idOrName) ? { id: idOrName } : { name: idOrName };
  const profile = await m.getRepository(CredentialProfile).findOne({
    where: { ...match, tenantId, deletedAt: IsNull() },
    ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}),
  });
  if (!profile) throw notFound('credential', idOrName);
  return profile;
}

async function load(m: EntityManager, tenantId: string, id: string): Promise<CredentialWithKeys> {
  const profile = await m.getRepository(CredentialProfile).findOneByOrFail({ id, tenantId });
  const spend = await credentialSpend(m, tenantId, [id]);
  return { profile, keys: await keysOf(m, tenantId, [id]), spend: spend.get(id)! };
}

function keysOf(m: EntityManager, tenantId: string, credentialIds: string[]): Promise<CredentialKeySummary[]> {
  if (credentialIds.length === 0) return Promise.resolve([]);
  return m.getRepository(CredentialKey).find({
    select: { id: true, credentialId: true, last4: true, status: true, position: true, createdAt: true, retiredAt: true, group: true },
    where: { tenantId, credentialId: In(credentialIds) },
    order: { position: 'ASC' },
  });
}

async function insertKeys(
  m: EntityManager,
  to: { tenantId: string; credentialId: string; dataKey: Buffer; version: number; firstPosition: number; group?: string | null },
  keys: Secret[],
): Promise<void> {
  const rows = keys.map((key, i) => {
    const id = newId('credentialKey');
    return {
      id,
      tenantId: to.tenantId,
      credentialId: to.credentialId,
      // AAD binds the ciphertext to this tenant and this key id: copied to any other row, it fails.
      sealed: sealProviderKey(to.dataKey, to.tenantId, id, key.reveal()),
      dataKeyVersion: to.version,
      last4: key.last4,
      status: 'active' as const,
      position: to.firstPosition + i,
      group: to.group ?? null,
      retiredAt: null,
    };
  });
  await m.getRepository(CredentialKey).insert(rows);
}

/**
 * Serialises default changes per tenant and vendor, so "at most one default" holds without a
 * unique-index error when two requests race to create a vendor's first profile.
 */
async function lockVendorDefault(m: EntityManager, tenantId: string, vendor: string): Promise<void> {
  await m.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`credential-default:${tenantId}:${vendor}`]);
}

async function hasDefault(m: EntityManager, tenantId: string, vendor: string): Promise<boolean> {
  const rows: unknown[] = await m.query(
    'SELECT 1 FROM credential_profiles WHERE tenant_id = $1 AND vendor = $2 AND is_default AND deleted_at IS NULL',
    [tenantId, vendor],
  );
  return rows.length > 0;
}

async function unsetDefault(m: EntityManager, tenantId: string, vendor: string): Promise<void> {
  await m.query(
    'UPDATE credential_profiles SET is_default = false, updated_at = now() WHERE tenant_id = $1 AND vendor = $2 AND is_default AND deleted_at IS NULL',
    [tenantId, vendor],
  );
}

async function touch(m: EntityManager, tenantId: string, credentialId: string): Promise<void> {
  await m.query('UPDATE credential_profiles SET updated_at = now() WHERE id = $1 AND tenant_id = $2', [credentialId, tenantId]);
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
  const driverError = err instanceof QueryFailedError ? (err.driverError as { code?: string; constraint?: string }) : undefined;
  return driverError?.code === '23505' && driverError.constraint === constraint;
}
