import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { aad, MasterKeyring, seal, unwrapTenantDataKey } from '@keyvault/crypto';
import { ProxyStore } from '../store/proxy-store';
import type { CaptureDraft } from './capture';

const FLUSH_AFTER_MS = 50;
const MAX_PER_INSERT = 50;
/** Captures waiting at most; beyond, new ones are dropped (a capture is a convenience, the audit row stays). */
const MAX_QUEUED = 2_000;

const INSERT_CAPTURES = `
  INSERT INTO audit_captures (audit_id, tenant_id, sealed, data_key_version)
  SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::int[])
  ON CONFLICT (audit_id) DO NOTHING`;

interface TenantKeyRow {
  id: string;
  data_key_wrapped: Buffer;
  data_key_master_key_id: string;
  data_key_version: number;
}

/**
 * Seals and stores captured calls after they ended: redaction, sealing under the tenant's data
 * key (AAD: tenant id + audit id) and the insert all happen here, on a timer, never on the
 * response path. Nothing of a capture's content is ever logged: failures log counts only.
 */
@Injectable()
export class CaptureWriter implements OnModuleDestroy {
  private readonly logger = new Logger('CaptureWriter');
  private queue: Array<{ auditId: string; tenantId: string; draft: CaptureDraft }> = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly store: ProxyStore,
    private readonly keyring: MasterKeyring,
  ) {}

  record(auditId: string, tenantId: string, draft: CaptureDraft): void {
    if (this.queue.length >= MAX_QUEUED) return;
    this.queue.push({ auditId, tenantId, draft });
    if (!this.timer && !this.flushing) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, FLUSH_AFTER_MS);
      this.timer.unref();
    }
  }

  /** Writes what is queued (clean shutdown). */
  async drain(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.queue.length > 0 || this.flushing) await (this.flushing ?? this.flush());
  }

  onModuleDestroy(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private flush(): Promise<void> {
    this.flushing ??= this.write()
      .catch((err: Error) => this.logger.error({ err: { name: err.name } }, 'captures not written'))
      .finally(() => {
        this.flushing = null;
      });
    return this.flushing;
  }

  private async write(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_PER_INSERT);
      // redaction and assembly first, outside the transaction
      const plain = batch.map((c) => ({ ...c, plain: Buffer.from(JSON.stringify(c.draft.document()), 'utf8') }));
      const tenantIds = [...new Set(batch.map((c) => c.tenantId))];
      try {
        // FOR SHARE: a data key rotation (FOR UPDATE) waits for these to be stored, then re-seals them too
        await this.store.transaction('capture_insert', async (m) => {
          const tenants: TenantKeyRow[] = await m.query(
            'SELECT id, data_key_wrapped, data_key_master_key_id, data_key_version FROM tenants WHERE id = ANY($1) FOR SHARE',
            [tenantIds],
          );
          const cols: [string[], string[], Buffer[], number[]] = [[], [], [], []];
          for (const t of tenants) {
            const dataKey = unwrapTenantDataKey(this.keyring, {
              id: t.id,
              dataKeyWrapped: t.data_key_wrapped,
              dataKeyMasterKeyId: t.data_key_master_key_id,
              dataKeyVersion: t.data_key_version,
            });
            try {
              for (const c of plain) {
                if (c.tenantId !== t.id) continue;
                cols[0].push(c.auditId);
                cols[1].push(t.id);
                cols[2].push(seal(dataKey, c.plain, aad.auditCapture(t.id, c.auditId)));
                cols[3].push(t.data_key_version);
              }
            } finally {
              dataKey.fill(0);
            }
          }
          if (cols[0].length > 0) await m.query(INSERT_CAPTURES, cols);
        });
      } finally {
        for (const c of plain) c.plain.fill(0);
      }
    }
  }
}
