import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataSourceOptions, enqueueSpendEvents, enqueueWebhookEvent, withTenant, type WebhookEventType } from '@keyvault/db';
import { queryDb } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { bootApi } from './support/boot-api';
import { startReceiver, type Behaviour, type Receiver } from './support/webhook-receiver';

const API_MAIN = join(__dirname, '../../../dist/apps/api/apps/api/src/main.js');

/** Fast timings so retries happen in milliseconds; private targets allowed for the loopback receivers. */
const FAST = {
  KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: 'true',
  KEYVAULT_WEBHOOK_POLL_INTERVAL_MS: '50',
  KEYVAULT_WEBHOOK_BACKOFF_BASE_MS: '20',
  KEYVAULT_WEBHOOK_TIMEOUT_MS: '1500',
  KEYVAULT_WEBHOOK_MAX_ATTEMPTS: '5',
};
const LEASE_MS = 3000; // twice the timeout above

interface DeliveryJson {
  id: string;
  event_id: string;
  event_type: WebhookEventType;
  status: string;
  attempt_count: number;
  attempts: { at: string; status: number | null; duration_ms: number; error: string | null; response_excerpt: string | null }[];
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
}

/** What a test needs of an api instance to set up webhooks and read their deliveries. */
function tenantClient(http: { get: (p: string) => import('supertest').Test; post: (p: string) => import('supertest').Test }, adminToken: string, tenantId: string) {
  const auth = { Authorization: `Bearer ${adminToken}`, 'Keyvault-Tenant': tenantId };
  return {
    async webhook(url: string, events: WebhookEventType[], threshold_pct?: number): Promise<{ id: string; secret: string }> {
      return (await http.post('/webhooks').set(auth).send({ url, events, threshold_pct }).expect(201)).body;
    },
    async deliveries(webhookId: string): Promise<DeliveryJson[]> {
      return (await http.get(`/webhooks/${webhookId}/deliveries`).set(auth).expect(200)).body.data;
    },
  };
}

/** A receiver whose secret is learnt once its webhook exists. */
async function receiverFor(behaviour?: Behaviour) {
  const box: { secret?: string } = {};
  const rx = await startReceiver(() => box.secret, behaviour);
  return { rx, setSecret: (s: string) => (box.secret = s) };
}

const revokedPayload = (vk: string) => ({ vault_key_id: vk, label: 'chat-42', credential_id: 'cred_1', metadata: { user_id: 'u1' }, reason: 'api' });

describe('webhook delivery', () => {
  let api: ApiHarness;
  let tenant: string;
  let client: ReturnType<typeof tenantClient>;
  const receivers: Receiver[] = [];

  const enqueue = (type: WebhookEventType, payload: Record<string, unknown>, dedupeKey?: string) =>
    withTenant(api.app.get(DataSource), tenant, (m) => enqueueWebhookEvent(m, { tenantId: tenant, type, payload, dedupeKey }));

  beforeAll(async () => {
    api = await startApi(FAST);
    tenant = (await api.admin().post('/tenants').send({ name: 'Notified' }).expect(201)).body.id;
    client = tenantClient(api.http, api.config.KEYVAULT_ADMIN_TOKEN, tenant);
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await api?.close();
  });

  it('signs each attempt, retries after two 500s, and the receiver accepts the event exactly once', async () => {
    const { rx, setSecret } = await receiverFor((n) => (n <= 2 ? 500 : 200));
    receivers.push(rx);
    const hook = await client.webhook(rx.url, ['vault_key.revoked']);
    setSecret(hook.secret);
    const eventId = await enqueue('vault_key.revoked', revokedPayload('vk_retry'), 'revoked:vk_retry');

    await expect.poll(async () => (await client.deliveries(hook.id))[0]?.status, { timeout: 15_000 }).toBe('succeeded');
    await new Promise((r) => setTimeout(r, 300)); // several poll rounds: nothing more is sent
    expect(rx.requests).toHaveLength(3);
    expect(rx.requests.every((r) => r.signatureValid)).toBe(true);
    expect(rx.requests.map((r) => r.answered)).toEqual([500, 500, 200]);
    expect(rx.accepted()).toHaveLength(1);

    const [accepted] = rx.accepted();
    expect(accepted.headers['keyvault-event-id']).toBe(eventId);
    expect(accepted.headers['content-type']).toBe('application/json');
    expect(accepted.headers['keyvault-signature']).toMatch(/^t=\d{10},v1=[0-9a-f]{64}$/);
    expect(JSON.parse(accepted.body)).toEqual({ id: eventId, type: 'vault_key.revoked', created_at: expect.any(String), data: revokedPayload('vk_retry') });
    // every attempt carries the same event id, so a receiver can dedupe
    expect(new Set(rx.requests.map((r) => r.headers['keyvault-event-id']))).toEqual(new Set([eventId]));

    const [delivery] = await client.deliveries(hook.id);
    expect(delivery).toMatchObject({
      object: 'webhook_delivery',
      webhook_id: hook.id,
      event_id: eventId,
      event_type: 'vault_key.revoked',
      status: 'succeeded',
      attempt_count: 3,
      last_status_code: 200,
      last_error: null,
      next_attempt_at: null,
    });
    expect(delivery.attempts.map((a) => [a.status, a.error, a.response_excerpt])).toEqual([
      [500, 'receiver answered HTTP 500', 'no'],
      [500, 'receiver answered HTTP 500', 'no'],
      [200, null, 'ok'],
    ]);
  });

  it('gives up after the last attempt and records why', async () => {
    const { rx, setSecret } = await receiverFor(() => 503);
    receivers.push(rx);
    const failing = await client.webhook(rx.url, ['vault_key.revoked']);
    setSecret(failing.secret);
    const closedPort = await new Promise<number>((resolve) => {
      const s = http.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const refused = await client.webhook(`http://127.0.0.1:${closedPort}/hook`, ['vault_key.revoked']);
    await enqueue('vault_key.revoked', revokedPayload('vk_fail'), 'revoked:vk_fail');

    await expect.poll(async () => (await client.deliveries(failing.id))[0]?.status, { timeout: 15_000 }).toBe('failed');
    await expect.poll(async () => (await client.deliveries(refused.id))[0]?.status, { timeout: 15_000 }).toBe('failed');
    expect((await client.deliveries(failing.id))[0]).toMatchObject({ attempt_count: 5, last_status_code: 503, last_error: 'receiver answered HTTP 503', next_attempt_at: null });
    expect((await client.deliveries(refused.id))[0]).toMatchObject({ attempt_count: 5, last_status_code: null, last_error: expect.stringContaining('ECONNREFUSED') });
    expect(rx.requests).toHaveLength(5);
  });

  it('gives up at once on a delivery older than the maximum age', async () => {
    const { rx, setSecret } = await receiverFor(() => 500);
    receivers.push(rx);
    const hook = await client.webhook(rx.url, ['vault_key.revoked']);
    setSecret(hook.secret);
    await withTenant(api.app.get(DataSource), tenant, async (m) => {
      await enqueueWebhookEvent(m, { tenantId: tenant, type: 'vault_key.revoked', payload: revokedPayload('vk_old'), dedupeKey: 'revoked:vk_old' });
      await m.query(`UPDATE webhook_deliveries SET created_at = now() - interval '2 days' WHERE webhook_id = $1`, [hook.id]);
    });
    await expect.poll(async () => (await client.deliveries(hook.id))[0]?.status, { timeout: 15_000 }).toBe('failed');
    expect((await client.deliveries(hook.id))[0].attempt_count).toBe(1);
  });

  it('fires cap_threshold once a day however many concurrent calls cross it, one delivery per subscribed webhook', async () => {
    const hooks: Record<string, { id: string; rx: Receiver }> = {};
    const subscribe = async (name: string, events: WebhookEventType[], threshold?: number) => {
      const { rx, setSecret } = await receiverFor();
      receivers.push(rx);
      const w = await client.webhook(rx.url, events, threshold);
      setSecret(w.secret);
      hooks[name] = { id: w.id, rx };
    };
    await subscribe('at80', ['vault_key.cap_threshold']);
    await subscribe('at80AndCap', ['vault_key.cap_threshold', 'vault_key.cap_reached'], 80);
    await subscribe('at50', ['vault_key.cap_threshold'], 50);
    await subscribe('capOnly', ['vault_key.cap_reached']);
    await subscribe('revokedOnly', ['vault_key.revoked']);

    // 50 transactions at once, each moving the key's spend by 25 USD from a different start:
    // a dozen of them cross 50%, a dozen 80%, a dozen the cap.
    const wide = await new DataSource(dataSourceOptions({ url: api.db.url, poolSize: 50 })).initialize();
    try {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          wide.transaction((m) =>
            enqueueSpendEvents(m, {
              tenantId: tenant,
              vaultKeyId: 'vk_hot',
              day: '2026-11-30',
              before: BigInt(i) * 2_000_000_000n,
              after: BigInt(i) * 2_000_000_000n + 25_000_000_000n,
              cap: 100_000_000_000n,
            }),
          ),
        ),
      );
    } finally {
      await wide.destroy();
    }

    const events = await queryDb<{ type: string; dedupe_key: string }>(
      api.db.url,
      `SELECT type, dedupe_key FROM webhook_events WHERE payload->>'vault_key_id' = 'vk_hot' ORDER BY dedupe_key`,
    );
    expect(events).toEqual([
      { type: 'vault_key.cap_reached', dedupe_key: 'cap_reached:vk_hot:2026-11-30' },
      { type: 'vault_key.cap_threshold', dedupe_key: 'cap_threshold:vk_hot:2026-11-30:50' },
      { type: 'vault_key.cap_threshold', dedupe_key: 'cap_threshold:vk_hot:2026-11-30:80' },
    ]);

    const expected: Record<string, string[]> = {
      at80: ['vault_key.cap_threshold'],
      at80AndCap: ['vault_key.cap_reached', 'vault_key.cap_threshold'],
      at50: ['vault_key.cap_threshold'],
      capOnly: ['vault_key.cap_reached'],
      revokedOnly: [],
    };
    for (const [name, types] of Object.entries(expected)) {
      await expect
        .poll(async () => (await client.deliveries(hooks[name].id)).map((d) => `${d.event_type}:${d.status}`).sort(), { timeout: 15_000 })
        .toEqual(types.map((t) => `${t}:succeeded`));
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const [name, types] of Object.entries(expected)) {
      const got = hooks[name].rx.accepted().map((r) => JSON.parse(r.body));
      expect(got.map((b) => b.type).sort()).toEqual(types);
      expect(hooks[name].rx.requests).toHaveLength(types.length);
    }
    const [threshold80] = hooks.at80.rx.accepted().map((r) => JSON.parse(r.body));
    expect(threshold80.data).toMatchObject({ vault_key_id: 'vk_hot', day: '2026-11-30', threshold_pct: 80, daily_usd_cap: 100 });
    expect(threshold80.data.spent_today_usd).toBeGreaterThanOrEqual(80);
    const [threshold50] = hooks.at50.rx.accepted().map((r) => JSON.parse(r.body));
    expect(threshold50.data.threshold_pct).toBe(50);
    // the same event reaches both 80% webhooks
    expect(JSON.parse(hooks.at80AndCap.rx.accepted().find((r) => JSON.parse(r.body).type === 'vault_key.cap_threshold')!.body).id).toBe(threshold80.id);
  });

  it('gives up what is still owed to a webhook when it is deleted', async () => {
    const hook = await client.webhook('http://127.0.0.1:9/never', ['vault_key.revoked']);
    await withTenant(api.app.get(DataSource), tenant, async (m) => {
      await enqueueWebhookEvent(m, { tenantId: tenant, type: 'vault_key.revoked', payload: revokedPayload('vk_del'), dedupeKey: 'revoked:vk_del' });
      // not due for an hour, so the worker leaves it alone until the delete
      await m.query(`UPDATE webhook_deliveries SET next_attempt_at = now() + interval '1 hour' WHERE webhook_id = $1`, [hook.id]);
    });
    await api.admin().delete(`/webhooks/${hook.id}`).set('Keyvault-Tenant', tenant).expect(200);
    const rows = await queryDb<{ status: string; last_error: string; attempts: number }>(api.db.url, 'SELECT status, last_error, attempts FROM webhook_deliveries WHERE webhook_id = $1', [hook.id]);
    expect(rows).toEqual([{ status: 'failed', last_error: 'webhook deleted', attempts: 0 }]);
  });
});

describe('webhook delivery across instances', () => {
  const started: { close: () => Promise<unknown> }[] = [];
  afterAll(async () => {
    for (const s of started.reverse()) await s.close();
  });

  /** A database with a tenant and one webhook to `url`, and no api running on it. */
  async function setUp(url: string, env: Record<string, string>) {
    const first = await startApi(env);
    started.push({ close: () => first.db.drop() });
    const tenant = (await first.admin().post('/tenants').send({ name: 'Resilient' }).expect(201)).body.id;
    const hook = await tenantClient(first.http, first.config.KEYVAULT_ADMIN_TOKEN, tenant).webhook(url, ['vault_key.revoked']);
    await first.app.close();
    const secrets = { KEYVAULT_MASTER_KEY: first.config.KEYVAULT_MASTER_KEY, KEYVAULT_ADMIN_TOKEN: first.config.KEYVAULT_ADMIN_TOKEN };
    return { dbUrl: first.db.url, tenant, hook, secrets };
  }

  async function enqueueOn(dbUrl: string, tenantId: string, vk: string): Promise<string> {
    const ds = await new DataSource(dataSourceOptions({ url: dbUrl, poolSize: 1 })).initialize();
    try {
      return (await ds.transaction((m) => enqueueWebhookEvent(m, { tenantId, type: 'vault_key.revoked', payload: revokedPayload(vk), dedupeKey: `revoked:${vk}` })))!;
    } finally {
      await ds.destroy();
    }
  }

  const deliveryRow = async (dbUrl: string, webhookId: string) =>
    (await queryDb<{ status: string; attempts: number; last_error: string | null; lease_ms: number; due_in_ms: number }>(
      dbUrl,
      `SELECT status, attempts, last_error,
              (extract(epoch FROM next_attempt_at - last_attempt_at) * 1000)::int AS lease_ms,
              (extract(epoch FROM next_attempt_at - now()) * 1000)::int AS due_in_ms
         FROM webhook_deliveries WHERE webhook_id = $1`,
      [webhookId],
    ))[0];

  it('an instance shut down mid-delivery hands the delivery back, and the next instance delivers it once', async () => {
    const { rx, setSecret } = await receiverFor((n) => (n === 1 ? 'hang' : 200));
    started.push(rx);
    const { dbUrl, tenant, hook, secrets } = await setUp(rx.url, FAST);
    setSecret(hook.secret);

    const a = await bootApi(dbUrl, { ...FAST, ...secrets });
    const eventId = await enqueueOn(dbUrl, tenant, 'vk_close');
    await rx.waitFor(1); // the first attempt is in flight and will never be answered
    await a.close();
    expect(await deliveryRow(dbUrl, hook.id)).toMatchObject({ status: 'pending', attempts: 1, last_error: 'interrupted: the api shut down during the attempt' });
    expect((await deliveryRow(dbUrl, hook.id)).due_in_ms).toBeLessThanOrEqual(0);

    const b = await bootApi(dbUrl, { ...FAST, ...secrets });
    started.push(b);
    await expect.poll(async () => (await deliveryRow(dbUrl, hook.id)).status, { timeout: 15_000 }).toBe('succeeded');
    expect(rx.accepted()).toHaveLength(1);
    expect(rx.requests).toHaveLength(2);
    expect(rx.requests.every((r) => r.signatureValid && r.headers['keyvault-event-id'] === eventId)).toBe(true);
    expect((await deliveryRow(dbUrl, hook.id)).attempts).toBe(2);
  });

  it('a worker killed mid-delivery keeps its lease; after it the next instance delivers once', async () => {
    expect(existsSync(API_MAIN), 'the built api is needed: npm run build').toBe(true);
    const { rx, setSecret } = await receiverFor((n) => (n === 1 ? 'hang' : 200));
    started.push(rx);
    const { dbUrl, tenant, hook, secrets } = await setUp(rx.url, FAST);
    setSecret(hook.secret);

    const killed: ChildProcess = spawn(process.execPath, [API_MAIN], {
      env: { PATH: process.env.PATH, DATABASE_URL: dbUrl, ...secrets, ...FAST, API_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => killed.once('exit', resolve));
    started.push({ close: async () => killed.exitCode === null && killed.kill('SIGKILL') });
    const eventId = await enqueueOn(dbUrl, tenant, 'vk_kill');
    await rx.waitFor(1);
    killed.kill('SIGKILL');
    await exited;

    const leased = await deliveryRow(dbUrl, hook.id);
    expect(leased).toMatchObject({ status: 'pending', attempts: 1, last_error: null, lease_ms: LEASE_MS });

    const b = await bootApi(dbUrl, { ...FAST, ...secrets });
    started.push(b);
    await expect.poll(async () => (await deliveryRow(dbUrl, hook.id)).status, { timeout: 20_000 }).toBe('succeeded');
    expect(rx.accepted()).toHaveLength(1);
    expect(rx.requests).toHaveLength(2);
    expect(rx.requests.every((r) => r.signatureValid && r.headers['keyvault-event-id'] === eventId)).toBe(true);
    expect((await deliveryRow(dbUrl, hook.id)).attempts).toBe(2);
  });

  it('refuses at send time a URL that is private once private targets are no longer allowed', async () => {
    const { rx } = await receiverFor();
    started.push(rx);
    const url = `https://127.0.0.1:${rx.port}/hooks`;
    const { dbUrl, tenant, hook, secrets } = await setUp(url, FAST);
    const strict = await bootApi(dbUrl, { ...FAST, ...secrets, KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: 'false' });
    started.push(strict);
    await enqueueOn(dbUrl, tenant, 'vk_private');
    await expect.poll(async () => (await deliveryRow(dbUrl, hook.id)).last_error, { timeout: 15_000 }).toBe(
      'unsafe url: resolves to a non-public address (127.0.0.1)',
    );
    expect(rx.connections()).toBe(0);
  });
});
