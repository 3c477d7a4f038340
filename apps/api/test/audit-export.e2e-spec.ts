import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryDb } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { fillAuditRows, insertAuditRows } from './support/audit-rows';

const T0 = Date.parse('2026-11-30T10:00:00.000Z');
const BIG = 100_000;

// A full collection before each heap reading, so garbage does not count as held memory.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** RFC 4180 parser, written apart from the exporter so the test checks the format, not itself. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') row.push(field), rows.push(row), (row = []), (field = ''), i++;
    else field += c;
  }
  expect(field).toBe(''); // every record ends with CRLF
  return rows;
}

describe('GET /audit/export', () => {
  let api: ApiHarness;
  let tenant: string;
  let bigTenant: string;
  let key: string;
  let bigKey: string;

  const exportOf = (query: string, k = key) => api.http.get(`/audit/export${query}`).set('Authorization', `Bearer ${k}`).buffer(true).parse((res, cb) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (text += c));
    res.on('end', () => cb(null, text));
  });
  const port = () => (api.app.getHttpServer().address() as AddressInfo).port;
  const exportedRows = async () => {
    const text = (await api.http.get('/metrics').expect(200)).text;
    return Number(/^keyvault_audit_export_rows_total (\d+)/m.exec(text)?.[1] ?? 0);
  };
  /** An export request whose body the test reads only when it wants to. */
  const openExport = (query: string, k: string) =>
    new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: port(), path: `/audit/export${query}`, headers: { authorization: `Bearer ${k}` } }, resolve).on('error', reject);
    });

  beforeAll(async () => {
    api = await startApi();
    tenant = (await api.admin().post('/tenants').send({ name: 'Exported' }).expect(201)).body.id;
    bigTenant = (await api.admin().post('/tenants').send({ name: 'Big' }).expect(201)).body.id;
    key = (await api.admin().post(`/tenants/${tenant}/api-keys`).send({ name: 'ops', scopes: ['audit:read'] }).expect(201)).body.api_key;
    bigKey = (await api.admin().post(`/tenants/${bigTenant}/api-keys`).send({ name: 'ops', scopes: ['audit:read'] }).expect(201)).body.api_key;
    await insertAuditRows(api.db.url, [
      { tenant_id: tenant, at: T0, vault_key_id: 'vk_1', status: 200, cost_nanos: 2_500_000_000, run_id: 'run_1', conversation_id: 'c,1' },
      { tenant_id: tenant, at: T0 + 1, vault_key_id: 'vk_1', status: 429, error_code: 'daily_cap_exceeded', path: '/v1/"quoted",path' },
      { tenant_id: tenant, at: T0 + 2, vault_key_id: null, status: 401, path: '/multi\r\nline', run_id: '=HYPERLINK("http://x")' },
      { tenant_id: tenant, at: T0 + 3, vault_key_id: 'vk_2', status: 502, run_id: '-2+3', conversation_id: 'ünïcødé ✓' },
    ]);
    await fillAuditRows(api.db.url, bigTenant, BIG, T0, 200);
  });
  afterAll(async () => api?.close());

  it('writes JSON Lines: the same entries GET /audit lists, newest first', async () => {
    const res = await exportOf('?format=jsonl').expect(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(new RegExp(`^attachment; filename="audit-${tenant}-\\d{8}T\\d{6}Z\\.jsonl"$`));
    expect(res.headers['cache-control']).toBe('no-store');
    const lines = (res.body as string).split('\n');
    expect(lines.pop()).toBe('');
    const listed = (await api.http.get('/audit').set('Authorization', `Bearer ${key}`).expect(200)).body.data;
    expect(lines.map((l) => JSON.parse(l))).toEqual(listed);
    expect(listed).toHaveLength(4);
    // jsonl is the default format
    expect((await exportOf('').expect(200)).body).toBe(res.body);
  });

  it('writes CSV with a header, RFC 4180 quoting and formula-safe text', async () => {
    const res = await exportOf('?format=csv').expect(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/filename="audit-ten_[0-9a-z]+-\d{8}T\d{6}Z\.csv"$/);
    const [header, ...rows] = parseCsv(res.body as string);
    expect(header).toEqual([
      'id', 'vault_key_id', 'vendor', 'method', 'path', 'status', 'error_code', 'cost_usd', 'duration_ms',
      'run_id', 'conversation_id', 'provider_key_id', 'credential_id', 'created_at',
    ]);
    const listed = (await api.http.get('/audit').set('Authorization', `Bearer ${key}`).expect(200)).body.data;
    expect(rows).toHaveLength(listed.length);
    const byColumn = rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
    expect(byColumn.map((r) => r.id)).toEqual(listed.map((e: { id: string }) => e.id));
    const [unicode, multi, quoted, plain] = byColumn;
    expect(plain).toMatchObject({ vault_key_id: 'vk_1', status: '200', cost_usd: '2.5', error_code: '', conversation_id: 'c,1', created_at: new Date(T0).toISOString() });
    expect(quoted).toMatchObject({ path: '/v1/"quoted",path', error_code: 'daily_cap_exceeded' });
    expect(multi).toMatchObject({ path: '/multi\r\nline', vault_key_id: '', run_id: `'=HYPERLINK("http://x")` });
    expect(unicode).toMatchObject({ run_id: "'-2+3", conversation_id: 'ünïcødé ✓' });
  });

  it('applies the filters', async () => {
    const lines = ((await exportOf('?format=jsonl&status=4xx').expect(200)).body as string).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((e) => e.status)).toEqual([401, 429]);
    const csv = parseCsv((await exportOf('?format=csv&vault_key=vk_none').expect(200)).body as string);
    expect(csv).toHaveLength(1); // the header alone
    const bad = await exportOf('?format=xml').expect(400);
    expect(JSON.parse(bad.body as string).error).toMatchObject({ code: 'parameter_invalid', param: 'format' });
  });

  it(`streams ${BIG.toLocaleString('en')} rows with bounded memory: the server reads only as fast as the client`, async () => {
    const before = await exportedRows();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const res = await openExport('?format=jsonl', bigKey);
    expect(res.statusCode).toBe(200);
    // The client reads nothing: the socket fills, the response stops draining, the cursor stops.
    let served = -1;
    for (let stable = 0; stable < 3; ) {
      await new Promise((r) => setTimeout(r, 100));
      const now = (await exportedRows()) - before;
      stable = now === served ? stable + 1 : 0;
      served = now;
    }
    gc();
    const heapStalled = process.memoryUsage().heapUsed - heapBefore;
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThan(BIG / 2);

    // Now read it all.
    let bytes = 0;
    let lines = 0;
    let first = '';
    let tail = '';
    for await (const chunk of res as AsyncIterable<Buffer>) {
      if (!first.includes('\n')) first += chunk.toString('utf8');
      bytes += chunk.length;
      for (const b of chunk) if (b === 10) lines++;
      tail = (tail + chunk.toString('utf8')).slice(-2000);
    }
    expect(lines).toBe(BIG);
    expect((await exportedRows()) - before).toBe(BIG);
    // newest first: the first line is row 100000, the last row 1
    expect(JSON.parse(first.slice(0, first.indexOf('\n'))).cost_usd).toBe(0.0001);
    expect(JSON.parse(tail.trim().split('\n').pop()!).cost_usd).toBe(0.000000001);
    // While stalled the process held far less than the export's size (and rows as objects weigh
    // several times their JSON).
    expect(bytes).toBeGreaterThan(40_000_000);
    expect(heapStalled).toBeLessThan(bytes / 4);
  });

  it('runs at most four exports at once and frees the connection of one the client abandons', async () => {
    const open = await Promise.all([1, 2, 3, 4].map(() => openExport('?format=csv', bigKey)));
    expect(open.map((r) => r.statusCode)).toEqual([200, 200, 200, 200]);
    const fifth = await api.http.get('/audit/export').set('Authorization', `Bearer ${bigKey}`).expect(429);
    expect(fifth.body.error).toMatchObject({ type: 'rate_limit_error', code: 'too_many_exports' });
    expect(fifth.headers['retry-after']).toBe('10');
    for (const r of open) r.destroy();
    await expect
      .poll(async () => queryDb(api.db.url, "SELECT 1 FROM pg_stat_activity WHERE application_name = 'keyvault-api-export' AND datname = current_database() AND state <> 'idle'"), { timeout: 10_000 })
      .toHaveLength(0);
    await exportOf('?format=csv&status=5xx').expect(200);
  });
});
