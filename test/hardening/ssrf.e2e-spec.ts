import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiHarness } from '../harness/api';
import { guardLoopbackOnly, type LoopbackGuard } from '../harness/loopback-guard';
import { startProxy, type ProxyHarness } from '../harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../harness/proxy-fixtures';
import { rawRequest } from '../harness/raw-http';

/**
 * Every spelling of "this machine", the private ranges and the cloud metadata service, as a
 * credential base_url and a webhook url, is refused when saved (api) and when called (proxy).
 * A trap listener on loopback proves no refusal is a failed connection: it is never connected
 * to. The loopback guard proves nothing else was reached or resolved either.
 */
const loopbackSpellings = (port: number) => [
  `https://localhost:${port}/v1`,
  `https://LOCALHOST:${port}/v1`,
  `https://localhost.:${port}/v1`,
  `https://127.0.0.1:${port}/v1`,
  `https://127.42.0.7:${port}/v1`,
  `https://2130706433:${port}/v1`,
  `https://0177.0.0.1:${port}/v1`,
  `https://0x7f000001:${port}/v1`,
  `https://0x7f.0.0.1:${port}/v1`,
  `https://127.1:${port}/v1`,
  `https://127.0.1:${port}/v1`,
  `https://[::1]:${port}/v1`,
  `https://[0:0:0:0:0:0:0:1]:${port}/v1`,
  `https://[::ffff:127.0.0.1]:${port}/v1`,
  `https://[0:0:0:0:0:ffff:7f00:1]:${port}/v1`,
  `https://[::ffff:7f00:1]:${port}/v1`,
  `https://[::127.0.0.1]:${port}/v1`,
  `https://[64:ff9b::7f00:1]:${port}/v1`,
  `https://[2002:7f00:1::]:${port}/v1`,
  `https://0.0.0.0:${port}/v1`,
  `https://0:${port}/v1`,
  `https://[::]:${port}/v1`,
];
const elsewhere = [
  'https://10.0.0.1/v1',
  'https://172.16.5.4/v1',
  'https://192.168.1.1/v1',
  'https://100.64.0.1/v1',
  'https://169.254.169.254/latest/meta-data/',
  'https://2852039166/latest/meta-data/',
  'https://0xa9fea9fe/latest/meta-data/',
  'https://0251.0376.0251.0376/latest/meta-data/',
  'https://[::ffff:169.254.169.254]/latest/meta-data/',
  'https://[::ffff:a9fe:a9fe]/latest/meta-data/',
  'https://[fd00:ec2::254]/latest/meta-data/',
  'https://[fe80::1]/v1',
  'https://[fc00::1]/v1',
  'https://[ff02::1]/v1',
  'https://224.0.0.1/v1',
  'https://255.255.255.255/v1',
];
/** Refused for their shape alone. */
const malformed = (port: number) => [`http://127.0.0.1:${port}/v1`, `https://user:pw@127.0.0.1:${port}/v1`, `https://api.example.com@127.0.0.1:${port}/v1`, 'file:///etc/passwd', 'gopher://127.0.0.1:25/'];

describe('SSRF: private and loopback targets in every spelling are refused before connecting', () => {
  let api: ApiHarness;
  let trap: Server;
  let trapPort: number;
  let trapped = 0;
  let guard: LoopbackGuard;
  let tenantId: string;
  let credentialId: string;
  let tried = 0;

  beforeAll(async () => {
    trap = createServer((s) => {
      trapped++;
      s.destroy();
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    trapPort = (trap.address() as AddressInfo).port;
    api = await startApi();
    tenantId = (await api.admin().post('/tenants').send({ name: 'SSRF' }).expect(201)).body.id;
    credentialId = (await api.admin().post('/credentials').set('Keyvault-Tenant', tenantId).send({ name: 'plain', vendor: 'openai', keys: ['sk-ssrf-0123456789abcdef'] }).expect(201)).body.id;
    guard = guardLoopbackOnly();
  });
  afterAll(async () => {
    guard?.restore();
    await api?.close();
    await new Promise((r) => trap?.close(r));
    console.info(`ssrf: ${tried} unsafe URLs refused, ${trapped} connections to the trap, ${guard?.refused.length ?? 0} attempts off loopback`);
  });

  const inTenant = (t: ReturnType<ApiHarness['admin']>['post']) => t.set('Keyvault-Tenant', tenantId);
  const all = () => [...loopbackSpellings(trapPort), ...elsewhere, ...malformed(trapPort)];

  it('refuses each as a credential base_url, on create and on update (422 unsafe_url)', async () => {
    for (const url of all()) {
      const created = await inTenant(api.admin().post('/credentials')).send({ name: `c${tried}`, vendor: 'openai_compatible', keys: ['sk-ssrf-0123456789abcdef'], base_url: url });
      const updated = await api.admin().patch(`/credentials/${credentialId}`).set('Keyvault-Tenant', tenantId).send({ base_url: url });
      tried += 2;
      for (const res of [created, updated]) {
        expect(res.status, `${url} → ${res.status} ${res.text}`).toBe(422);
        expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'unsafe_url', param: 'base_url' });
      }
    }
  });

  it('refuses each as a webhook url (422 unsafe_url)', async () => {
    for (const url of all()) {
      const res = await inTenant(api.admin().post('/webhooks')).send({ url, events: ['vault_key.revoked'] });
      tried++;
      expect(res.status, `${url} → ${res.status} ${res.text}`).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'unsafe_url', param: 'url' });
    }
  });

  it('never connected to the trap, never connected off loopback, resolved no name but localhost', () => {
    expect(trapped).toBe(0);
    // the guard saw this process's own loopback traffic (test → api), so it was watching
    expect(guard.connects.length).toBeGreaterThan(0);
    expect(guard.connects.filter((c) => c.endsWith(`:${trapPort}`))).toEqual([]);
    expect(guard.refused).toEqual([]);
    // localhost. is refused by the guard (it would go to DNS); every other name resolved is localhost itself
    expect([...new Set(guard.lookups.map((h) => h.toLowerCase()))].sort()).toEqual(['localhost', 'localhost.']);
  });
});

describe('SSRF at call time: the proxy re-checks a stored base_url and connects only where the check allowed', () => {
  let api: ApiHarness;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let trap: Server;
  let trapPort: number;
  let trapped = 0;
  let guard: LoopbackGuard;
  let tried = 0;

  beforeAll(async () => {
    trap = createServer((s) => {
      trapped++;
      s.destroy();
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    trapPort = (trap.address() as AddressInfo).port;
    // the api stores what a strict proxy must still refuse (a deployment that changed its mind, or DNS that changed)
    api = await startApi({ KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: 'true' });
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: 'false' });
    guard = guardLoopbackOnly();
  });
  afterAll(async () => {
    guard?.restore();
    await proxy?.close();
    await fx?.close();
    await api?.close();
    await new Promise((r) => trap?.close(r));
    console.info(`ssrf at call time: ${tried} calls refused, ${trapped} connections to the trap`);
  });

  it('answers 502 upstream_unreachable for each loopback spelling, with nothing sent', async () => {
    const tenantId = await fx.tenant('SSRF proxy');
    for (const url of loopbackSpellings(trapPort).filter((u) => !u.includes('localhost.')).map((u) => u.replace('https:', 'http:'))) {
      // an openai profile whose base_url overrides the deployment's upstream
      const cred = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-ssrf-proxy-0123456789'], baseUrl: url })).id;
      const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: cred, capUsd: 1, allowed: ['POST /v1/chat/completions'] });
      const res = await rawRequest(proxy.port, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${vk.token}`, 'content-type': 'application/json' }, '{"model":"gpt-4o-mini","max_tokens":1,"messages":[]}');
      tried++;
      expect(res.status, `${url} → ${res.status} ${res.body}`).toBe(502);
      expect(JSON.parse(res.body).error.code).toBe('upstream_unreachable');
    }
    expect(trapped).toBe(0);
    expect(guard.refused).toEqual([]);
  });
});
