import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryFailedError } from 'typeorm';
import { MasterKeyring, newId, newTenantDataKey } from '@keyvault/crypto';
import { CHANNELS, pageByCursor, Tenant, withTenant } from '@keyvault/db';
import { KeyvaultError, notFound } from '@keyvault/errors';
import { parseDuration, usdToNanos } from '@keyvault/policy';
import { seedBudget, tenantSpend, type PeriodSpend } from '../budgets/budget-spend';
import type { CreateTenantDto } from './dto/create-tenant.dto';
import type { UpdateTenantDto } from './dto/update-tenant.dto';

const DEFAULT_TTL = '30d';

@Injectable()
export class TenantsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly keyring: MasterKeyring,
  ) {}

  async create(dto: CreateTenantDto): Promise<Tenant> {
    const id = newId('tenant');
    // Each tenant gets its own data key; only its wrapped form is stored.
    const { dataKey, wrapped, masterKeyId } = newTenantDataKey(this.keyring, id);
    dataKey.fill(0);
    const tenant = this.db.getRepository(Tenant).create({
      id,
      name: dto.name,
      slug: dto.slug ?? slugify(dto.name, id),
      maxVaultKeyTtlSeconds: parseDuration(dto.max_vault_key_ttl ?? DEFAULT_TTL)!,
      status: 'active',
      dataKeyWrapped: wrapped,
      dataKeyMasterKeyId: masterKeyId,
      dataKeyVersion: 1,
      monthlyCapNanos: dto.monthly_usd_cap == null ? null : usdToNanos(dto.monthly_usd_cap)!,
    });
    return this.saveUniqueSlug(tenant);
  }

  list(page: { limit: number; starting_after?: string }) {
    return pageByCursor(this.db.getRepository(Tenant).createQueryBuilder('t'), 't', page);
  }

  async get(id: string): Promise<Tenant> {
    const tenant = await this.db.getRepository(Tenant).findOneBy({ id });
    if (!tenant) throw notFound('tenant', id);
    return tenant;
  }

  async update(id: string, dto: UpdateTenantDto): Promise<Tenant> {
    const tenant = await this.get(id);
    if (dto.name !== undefined) tenant.name = dto.name;
    if (dto.slug !== undefined) tenant.slug = dto.slug;
    if (dto.max_vault_key_ttl !== undefined) tenant.maxVaultKeyTtlSeconds = parseDuration(dto.max_vault_key_ttl)!;
    if (dto.monthly_usd_cap === undefined) return this.saveUniqueSlug(tenant);
    const newlyCapped = tenant.monthlyCapNanos === null && dto.monthly_usd_cap !== null;
    tenant.monthlyCapNanos = dto.monthly_usd_cap === null ? null : usdToNanos(dto.monthly_usd_cap)!;
    // as the tenant: the seed reads its keys' spend and writes its budget row, both under its row security
    return withTenant(this.db, id, async (m) => {
      const saved = await this.saveUniqueSlug(tenant, m);
      // a cap set mid-month counts the month so far
      if (newlyCapped) await seedBudget(m, { tenantId: id, subjectId: id, level: 'tenant_monthly' });
      // every proxy instance reloads the tenant's keys, and with them the cap, at this commit
      await m.query('SELECT pg_notify($1, $2)', [CHANNELS.vaultKeys, JSON.stringify({ tenant_id: id })]);
      return saved;
    });
  }

  /** The current month's spend of each tenant, for the views: read as each tenant, one after the other. */
  async spend(ids: string[]): Promise<Map<string, PeriodSpend>> {
    const all = new Map<string, PeriodSpend>();
    for (const id of ids) {
      const one = await withTenant(this.db, id, (m) => tenantSpend(m, [id]));
      all.set(id, one.get(id)!);
    }
    return all;
  }

  /**
   * Disabling a tenant stops its vault keys at once: every proxy instance hears the notice in
   * the same transaction's commit and drops the tenant's cached verdicts.
   */
  async setStatus(id: string, status: Tenant['status']): Promise<Tenant> {
    return this.db.transaction(async (m) => {
      // TypeORM answers an UPDATE ... RETURNING with [rows, affected]
      const [updated]: [unknown[], number] = await m.query('UPDATE tenants SET status = $2, updated_at = now() WHERE id = $1 RETURNING id', [id, status]);
      if (updated.length === 0) throw notFound('tenant', id);
      await m.query('SELECT pg_notify($1, $2)', [CHANNELS.vaultKeys, JSON.stringify({ tenant_id: id })]);
      return m.getRepository(Tenant).findOneByOrFail({ id });
    });
  }

  private async saveUniqueSlug(tenant: Tenant, m = this.db.manager): Promise<Tenant> {
    try {
      return await m.getRepository(Tenant).save(tenant);
    } catch (err) {
      if (err instanceof QueryFailedError && (err as { code?: string } & QueryFailedError).code === '23505') {
        throw new KeyvaultError('slug_taken', `A tenant with slug '${tenant.slug}' already exists.`, 'slug');
      }
      throw err;
    }
  }
}

function slugify(name: string, id: string): string {
  const base = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);
  // Derived slugs get the id's random tail, so two tenants named alike never collide.
  return `${base || 'tenant'}-${id.slice(-6)}`;
}
