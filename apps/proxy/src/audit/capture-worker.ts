/**
 * The capture worker (a worker thread of the proxy, started by CaptureWriter): turns ended calls'
 * captures into sealed rows of audit_captures. Redaction, the document, its JSON, the sealing
 * under the tenant's data key and the insert all run here, so none of it competes with serving
 * calls on the proxy's event loop. It never logs: the proxy hears counts and error names only.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { Pool, type PoolClient } from 'pg';
import { aad, MasterKeyring, seal, unwrapTenantDataKey } from '@keyvault/crypto';
import { captureDocument, type CapturedCall } from './capture';

export interface CaptureWorkerData {
  databaseUrl: string;
  /** libpq startup options (the proxy's role, JIT off) */
  pgOptions: string;
  masterKey: string;
  previousMasterKeys: string[];
}

/** From the proxy: captures to store, or a request to answer once everything received is stored. */
export type ToCaptureWorker = { type: 'calls'; calls: CapturedCall[] } | { type: 'drain'; id: number };
/** To the proxy: what became of the captures it sent (counts and error names only, never content). */
export type FromCaptureWorker =
  | { type: 'stored'; captures: number; bytes: number }
  | { type: 'failed'; captures: number; bytes: number; error: string }
  | { type: 'drained'; id: number };

/**
 * The worker's thread runs this much nicer than the proxy (Linux; elsewhere at its priority): when
 * the CPU is short, serving calls goes first and captures wait (bounded by the proxy's queue).
 */
const CAPTURE_THREAD_NICE_STEP = 10;

/** Rows per INSERT at most, and plaintext bytes: a statement's parameters stay a few MiB. */
const MAX_PER_INSERT = 200;
const MAX_BYTES_PER_INSERT = 4 * 1024 * 1024;
const GATHER_MS = 200;

/**
 * The batch's sealed captures travel as one binary parameter, cut apart by offsets: an array of
 * bytea goes as hex text (twice the bytes, built here and parsed there), and a row of bound
 * parameters per capture costs more to bind than the one buffer.
 */
const INSERT_CAPTURES = `
  INSERT INTO audit_captures (audit_id, tenant_id, sealed, data_key_version)
  SELECT u.audit_id, u.tenant_id, substring($3::bytea FROM u.start FOR u.len), u.version
    FROM unnest($1::text[], $2::text[], $4::int[], $5::int[], $6::int[]) AS u(audit_id, tenant_id, start, len, version)
  ON CONFLICT (audit_id) DO NOTHING`;

interface TenantKeyRow {
  id: string;
  data_key_wrapped: Buffer;
  data_key_master_key_id: string;
  data_key_version: number;
}

/** Body bytes a captured call carries (what the proxy's queue bound counts). */
const capturedBytes = (c: CapturedCall): number => (c.request.body?.length ?? 0) + (c.response?.body?.length ?? 0);

/** Lowers this thread's priority only: on Linux a thread id set alone (/proc/thread-self names it). */
function yieldToServing(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, Math.min(19, getPriority(tid) + CAPTURE_THREAD_NICE_STEP));
  } catch {
    // not Linux, or not allowed: the same priority as the proxy
  }
}

function start(port: NonNullable<typeof parentPort>, data: CaptureWorkerData): void {
  yieldToServing();
  const keyring = new MasterKeyring(data.masterKey, data.previousMasterKeys);
  const pool = new Pool({
    connectionString: data.databaseUrl,
    max: 1,
    options: data.pgOptions,
    application_name: 'keyvault-proxy-captures',
    connectionTimeoutMillis: 3_000,
    query_timeout: 10_000,
    keepAlive: true,
  });
  // an idle connection cut by the server or the network must not end the worker
  pool.on('error', () => undefined);
  const queue: CapturedCall[] = [];
  const drains: number[] = [];
  let writing = false;

  const send = (m: FromCaptureWorker) => port.postMessage(m);

  async function writeAll(): Promise<void> {
    if (writing) return;
    writing = true;
    try {
      while (queue.length > 0) {
        let bytes = 0;
        let n = 0;
        while (n < queue.length && n < MAX_PER_INSERT && (n === 0 || bytes + capturedBytes(queue[n]) <= MAX_BYTES_PER_INSERT)) bytes += capturedBytes(queue[n++]);
        const batch = queue.splice(0, n);
        try {
          await store(batch);
          send({ type: 'stored', captures: batch.length, bytes });
        } catch (err) {
          send({ type: 'failed', captures: batch.length, bytes, error: err instanceof Error ? err.name : 'Error' });
        }
      }
    } finally {
      writing = false;
    }
    for (const id of drains.splice(0)) send({ type: 'drained', id });
  }

  async function store(batch: CapturedCall[]): Promise<void> {
    // redaction and assembly first, outside the transaction
    const plain = batch.map((c) => ({ auditId: c.auditId, tenantId: c.tenantId, plain: Buffer.from(JSON.stringify(captureDocument(c)), 'utf8') }));
    const tenantIds = [...new Set(batch.map((c) => c.tenantId))];
    const client: PoolClient = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      // FOR SHARE: a data key rotation (FOR UPDATE) waits for these to be stored, then re-seals them too
      const { rows: tenants } = await client.query<TenantKeyRow>(
        'SELECT id, data_key_wrapped, data_key_master_key_id, data_key_version FROM tenants WHERE id = ANY($1) FOR SHARE',
        [tenantIds],
      );
      const cols: { auditIds: string[]; tenantIds: string[]; sealed: Buffer[]; starts: number[]; lengths: number[]; versions: number[] } = {
        auditIds: [], tenantIds: [], sealed: [], starts: [], lengths: [], versions: [],
      };
      let at = 1;
      for (const t of tenants) {
        const dataKey = unwrapTenantDataKey(keyring, { id: t.id, dataKeyWrapped: t.data_key_wrapped, dataKeyMasterKeyId: t.data_key_master_key_id, dataKeyVersion: t.data_key_version });
        try {
          for (const c of plain) {
            if (c.tenantId !== t.id) continue;
            const sealed = seal(dataKey, c.plain, aad.auditCapture(t.id, c.auditId));
            cols.auditIds.push(c.auditId);
            cols.tenantIds.push(t.id);
            cols.sealed.push(sealed);
            cols.starts.push(at);
            cols.lengths.push(sealed.length);
            cols.versions.push(t.data_key_version);
            at += sealed.length;
          }
        } finally {
          dataKey.fill(0);
        }
      }
      if (cols.auditIds.length > 0) {
        await client.query(INSERT_CAPTURES, [cols.auditIds, cols.tenantIds, Buffer.concat(cols.sealed), cols.starts, cols.lengths, cols.versions]);
      }
      await client.query('COMMIT');
    } catch (err) {
      broken = err instanceof Error ? err : new Error(String(err));
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      // a connection that failed mid-transaction is not reused
      client.release(broken);
      for (const c of plain) c.plain.fill(0);
    }
  }

  // captures gather for up to GATHER_MS (or a full insert): fewer, larger transactions cost Postgres less per row
  let gathering: NodeJS.Timeout | null = null;
  port.on('message', (m: ToCaptureWorker) => {
    if (m.type === 'calls') queue.push(...m.calls);
    else drains.push(m.id);
    if (m.type === 'drain' || queue.length >= MAX_PER_INSERT) {
      if (gathering) clearTimeout(gathering);
      gathering = null;
      void writeAll();
    } else {
      gathering ??= setTimeout(() => {
        gathering = null;
        void writeAll();
      }, GATHER_MS);
    }
  });
}

if (parentPort && (workerData as { captureWorker?: CaptureWorkerData } | null)?.captureWorker) {
  start(parentPort, (workerData as { captureWorker: CaptureWorkerData }).captureWorker);
}
