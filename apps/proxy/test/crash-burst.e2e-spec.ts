import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeStub, type StubServer } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { spawnProxy, type ProxyProcess } from '../../../test/harness/proxy-process';
import { rawRequest } from '../../../test/harness/raw-http';
import { eventually } from '../../../test/harness/wait';

/** Bursts killed; the issue asks for 20 (`KEYVAULT_TEST_CRASH_ROUNDS=20`), CI runs a few. */
const ROUNDS = Number(process.env.KEYVAULT_TEST_CRASH_ROUNDS ?? 3);
const BURST = 300;
const CONCURRENCY = 25;
const DOLLAR = 1_000_000_000;

/**
 * kill -9 at a random point of a burst of 300 $1 payment intents on one key, again and again,
 * each time with the built proxy as a real process, and a restart under the same instance id
 * to reconcile what the dead one left. Every call carries its own number, to the stub in its
 * body and to the audit log as its run id, so the stub's calls and the audit rows are matched
 * one for one.
 */
describe('kill -9 in the middle of a burst of $1 payment intents', () => {
  let api: ApiHarness;
  let stub: StubServer;
  let fx: ProxyFixtures;
  let tenantId: string;
  let credentialId: string;
  let env: Record<string, string>;
  const running = new Set<ProxyProcess>();

  beforeAll(async () => {
    api = await startApi();
    stub = await startStripeStub();
    fx = await proxyFixtures(api);
    tenantId = await fx.tenant('Bursts');
    credentialId = (await fx.credential(tenantId, { vendor: 'stripe', keys: ['sk_test_real_bursts'] })).id;
    env = { DATABASE_URL: api.db.url, KEYVAULT_MASTER_KEY: api.config.KEYVAULT_MASTER_KEY, KEYVAULT_UPSTREAM_STRIPE: stub.url, KEYVAULT_INSTANCE_ID: 'burst' };
  });
  afterAll(async () => {
    for (const p of running) await p.stop('SIGKILL');
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const spawn = async () => {
    const p = await spawnProxy(env);
    running.add(p);
    void p.exited.then(() => running.delete(p));
    return p;
  };
  const pay = (port: number, token: string, callId: string) =>
    rawRequest(
      port, 'POST', '/v1/payment_intents',
      { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded', 'x-run-id': callId },
      `amount=100&currency=usd&description=${callId}`,
    ).then((r) => r.status, () => 0);
  const stubCalls = (round: number) =>
    new Set(stub.seen().map((r) => new URLSearchParams(r.body.toString('utf8')).get('description') ?? '').filter((d) => d.startsWith(`r${round}-`)));

  /** Fires the burst, CONCURRENCY calls at a time, and SIGKILLs the proxy once the stub has `killAt` of them. */
  async function burst(p: ProxyProcess, token: string, round: number, killAt: number): Promise<number[]> {
    const statuses: number[] = [];
    let next = 0;
    let dead = false;
    const worker = async () => {
      while (next < BURST && !dead) {
        const i = next++;
        statuses.push(await pay(p.port, token, `r${round}-${i}`));
      }
    };
    const watcher = (async () => {
      while (stubCalls(round).size < killAt && next < BURST) await new Promise((r) => setTimeout(r, 2));
      dead = true;
      await p.stop('SIGKILL');
    })();
    await Promise.all([...Array.from({ length: CONCURRENCY }, worker), watcher]);
    return statuses;
  }

  it(`books every forwarded call, one audit row each, and never more than the calls in flight beyond them (${ROUNDS} rounds)`, async () => {
    let p = await spawn();
    for (let round = 0; round < ROUNDS; round++) {
      const vk = await fx.vaultKey(tenantId, { vendor: 'stripe', credentialId, capUsd: 1000, allowed: ['POST /v1/payment_intents'] });
      const killAt = 1 + Math.floor(Math.random() * (BURST - 1));
      const statuses = await burst(p, vk.token, round, killAt);
      // the next life of the instance reconciles what this one left before it serves anything
      p = await spawn();

      const forwarded = stubCalls(round);
      const rows = await fx.query<{ run_id: string; status: number; error_code: string | null; cost_nanos: string }>(
        'SELECT run_id, status, error_code, cost_nanos FROM audit_log WHERE vault_key_id = $1',
        [vk.id],
      );
      const [spend] = await fx.query<{ spent: string; reserved: string }>('SELECT spent_nanos AS spent, reserved_nanos AS reserved FROM vault_key_spend WHERE vault_key_id = $1', [vk.id]);
      const context = { round, killAt, forwarded: forwarded.size, rows: rows.length, answered: statuses.filter((s) => s === 200).length };

      // every call the stub received has its row, and the rows left over are calls that were
      // recorded but cut before they reached the stub: in flight, marked interrupted
      const rowIds = new Set(rows.map((r) => r.run_id));
      expect([...forwarded].filter((id) => !rowIds.has(id)), JSON.stringify(context)).toEqual([]);
      const extra = rows.filter((r) => !forwarded.has(r.run_id));
      expect(extra.every((r) => r.error_code === "interrupted"), JSON.stringify({ ...context, extra: extra.filter((r) => r.error_code !== "interrupted") })).toBe(true);
      expect(extra.length, JSON.stringify(context)).toBeLessThanOrEqual(CONCURRENCY);
      expect(rows.filter((r) => r.status === 0 && r.error_code === null), JSON.stringify(context)).toEqual([]);
      // every call the client saw answered 200 reached the stub
      expect(context.answered).toBeLessThanOrEqual(forwarded.size);

      // spend: the stub's count × $1, plus at most the calls in flight; exactly the sum of the rows
      expect(spend.reserved).toBe('0');
      const spent = Number(spend.spent);
      expect(spent, JSON.stringify(context)).toBeGreaterThanOrEqual(forwarded.size * DOLLAR);
      expect(spent, JSON.stringify(context)).toBeLessThanOrEqual((forwarded.size + CONCURRENCY) * DOLLAR);
      expect(spent).toBe(rows.reduce((sum, r) => sum + Number(r.cost_nanos), 0));
      expect(spent).toBe(rows.length * DOLLAR);
    }
    expect(await p.stop('SIGTERM')).toBe(0);
    await eventually(async () => (await fx.query('SELECT 1 FROM spend_reservations')).length === 0, 'no lease left');
  }, 60_000 + ROUNDS * 30_000);
});
