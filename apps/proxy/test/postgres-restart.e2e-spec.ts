import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAiStub, queryDb, type OpenAiStub } from '@keyvault/testing';
import { startApi } from '../../../test/harness/api';
import { freePort } from '../../../test/harness/free-port';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures } from '../../../test/harness/proxy-fixtures';
import { rawRequest } from '../../../test/harness/raw-http';
import { eventually } from '../../../test/harness/wait';

const ROOT = join(__dirname, '../../..');
const CHAT = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'Say meow' }] });
/** 12 prompt + 3 completion tokens (the stub's usage) at $0.15 / $0.60 per million */
const CHAT_COST = 3_600;
const CONCURRENCY = 10;

interface Cluster {
  url: string;
  pg: { stop(): Promise<void>; crash(): Promise<void> };
}
interface EmbeddedPostgres {
  startEmbeddedPostgres(dataDir: string, password: string): Promise<Cluster>;
}

/**
 * Postgres itself goes down under live paid calls (an immediate shutdown: a crash, as
 * `pg_ctl stop -m immediate`) and comes back. It is a private throwaway cluster (the embedded
 * PostgreSQL binaries, its own data directory and port), never the server other tests share.
 */
describe('Postgres stopped and started under load', () => {
  let embedded: EmbeddedPostgres;
  let dataDir: string;
  const password = randomBytes(12).toString('hex');
  let cluster: Cluster;
  let stub: OpenAiStub;
  let proxy: ProxyHarness | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kv-pg-restart-'));
    chmodSync(dataDir, 0o711); // the server may run as its own user
    process.env.KEYVAULT_EMBEDDED_PG_PORT = String(await freePort());
    embedded = (await import(pathToFileURL(join(ROOT, 'scripts/embedded-postgres.mjs')).href)) as EmbeddedPostgres;
    cluster = await embedded.startEmbeddedPostgres(dataDir, password);
    stub = await startOpenAiStub();
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await cluster?.pg.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    delete process.env.KEYVAULT_EMBEDDED_PG_PORT; // the worker runs other files after this one
  });

  it('forwards nothing while it is down, and afterwards books exactly what the forwarded calls cost', async () => {
    // the api migrates the private cluster and issues the key; it is gone before the outage
    const api = await startApi({}, { database: { url: cluster.url, name: 'keyvault', drop: async () => undefined } });
    const fx = await proxyFixtures(api);
    const tenantId = await fx.tenant('Restart');
    const credentialId = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-restart'] })).id;
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId, capUsd: 100, allowed: ['POST /v1/chat/completions'] });
    const masterKey = api.config.KEYVAULT_MASTER_KEY;
    await fx.close();
    await api.close();

    proxy = await startProxy(cluster.url, masterKey, { KEYVAULT_UPSTREAM_OPENAI: stub.url });
    const port = proxy.port;
    const statuses: Array<{ status: number; at: number }> = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const status = await rawRequest(port, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${vk.token}`, 'content-type': 'application/json' }, CHAT).then(
          (r) => r.status,
          () => 0,
        );
        statuses.push({ status, at: Date.now() });
        // while refused, the calls do not spin
        if (status !== 200) await new Promise((r) => setTimeout(r, 20));
      }
    };
    const load = Array.from({ length: CONCURRENCY }, worker);
    try {
      await eventually(async () => stub.seen().length >= 50, 'traffic', 30_000);

      await cluster.pg.crash();
      // calls recorded before the crash may still land at the stub; after that, nothing does
      await new Promise((r) => setTimeout(r, 500));
      const downFrom = Date.now();
      const forwardedAtCrash = stub.seen().length;
      await new Promise((r) => setTimeout(r, 1_500));
      expect(stub.seen().length).toBe(forwardedAtCrash);
      const whileDown = statuses.filter((s) => s.at > downFrom);
      expect(whileDown.length).toBeGreaterThan(0);
      expect(whileDown.filter((s) => s.status !== 503)).toEqual([]);

      cluster = await embedded.startEmbeddedPostgres(dataDir, password);
      await eventually(async () => statuses.filter((s) => s.at > Date.now() - 1_000 && s.status === 200).length > 0, 'recovery', 30_000);
      await eventually(async () => stub.seen().length >= forwardedAtCrash + 50, 'traffic after recovery', 30_000);
    } finally {
      stop = true;
      await Promise.all(load);
    }
    await proxy.close();
    proxy = undefined;

    const forwarded = stub.seen().length;
    const [spend] = await queryDb<{ spent: string; reserved: string }>(cluster.url, 'SELECT spent_nanos AS spent, reserved_nanos AS reserved FROM vault_key_spend WHERE vault_key_id = $1', [vk.id]);
    const [audit] = await queryDb<{ ok: string; interrupted: string; in_flight: string; cost: string }>(
      cluster.url,
      `SELECT count(*) FILTER (WHERE status = 200)::text AS ok, count(*) FILTER (WHERE status = 0)::text AS interrupted,
              (SELECT count(*) FROM call_records WHERE vault_key_id = $1)::text AS in_flight, sum(cost_nanos)::text AS cost
         FROM audit_log WHERE vault_key_id = $1`,
      [vk.id],
    );
    // every forwarded call has its row with its outcome, and the spend is exactly what they cost
    expect(audit).toEqual({ ok: String(forwarded), interrupted: '0', in_flight: '0', cost: String(forwarded * CHAT_COST) });
    expect(spend).toEqual({ spent: String(forwarded * CHAT_COST), reserved: '0' });
  }, 180_000);
});
