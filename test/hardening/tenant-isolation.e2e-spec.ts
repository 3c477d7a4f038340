import type request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiHarness } from '../harness/api';
import { eventually } from '../harness/wait';
import { insertAuditRows } from '../../apps/api/test/support/audit-rows';

/**
 * Every api route that takes an id in its path, read from the OpenAPI document (so a new route
 * is covered as soon as it exists), is called by tenant A with tenant B's ids: as A's API key
 * and as the admin acting in A. Each answers 404 resource_missing (admin-only routes: 403 for
 * a tenant key), and B's objects are untouched afterwards.
 */

interface Objects {
  tenant: string;
  apiKeyId: string;
  credentialId: string;
  credentialName: string;
  credentialKeyId: string;
  vaultKeyId: string;
  webhookId: string;
  deliveryId: string;
  gatewayKeyId: string;
  auditId: string;
}

/**
 * The id each path parameter takes, by the path up to and including it. A route with a path
 * parameter not listed here fails the test: add its sample here when adding the route.
 * `names` are the other spellings a route accepts for the same object (credentials by name).
 */
const SAMPLES: Record<string, (o: Objects) => string[]> = {
  '/tenants/{id}': (o) => [o.tenant],
  '/tenants/{tenant_id}': (o) => [o.tenant],
  '/tenants/{tenant_id}/api-keys/{key_id}': (o) => [o.apiKeyId],
  '/credentials/{id}': (o) => [o.credentialId, o.credentialName],
  '/credentials/{id}/keys/{key_id}': (o) => [o.credentialKeyId],
  '/vault/keys/{id}': (o) => [o.vaultKeyId],
  '/webhooks/{id}': (o) => [o.webhookId],
  '/webhooks/{id}/deliveries/{delivery_id}': (o) => [o.deliveryId],
  '/gateway-keys/{id}': (o) => [o.gatewayKeyId],
  '/audit/{id}': (o) => [o.auditId],
};

/** A valid body for routes that validate one before looking the id up (so the lookup is what answers). */
const BODIES: Record<string, object> = {
  'PATCH /tenants/{id}': { name: 'Renamed by A' },
  'POST /tenants/{tenant_id}/api-keys': { name: 'planted' },
  'PATCH /credentials/{id}': { name: 'renamed_by_a' },
  'POST /credentials/{id}/keys': { key: 'sk-planted-by-tenant-a-0123456789' },
};

/** Routes only the platform admin may call: the tenant is the object itself, not a scope. */
const adminOnly = (template: string) => template.startsWith('/tenants/');
/** Path parameters naming the tenant itself: the admin is platform-wide, so those stay A for it. */
const tenantParam = (prefix: string) => prefix === '/tenants/{id}' || prefix === '/tenants/{tenant_id}';

interface Call {
  label: string;
  method: string;
  path: string;
  body?: object;
}

describe('tenant isolation, route by route from the OpenAPI document', () => {
  let api: ApiHarness;
  let a: Objects;
  let b: Objects;
  let aKey: string;
  let bKey: string;
  let routes: { method: string; template: string; params: string[] }[];
  let tried = 0;

  async function objects(name: string): Promise<{ o: Objects; key: string }> {
    const tenant = (await api.admin().post('/tenants').send({ name }).expect(201)).body.id as string;
    const created = (await api.admin().post(`/tenants/${tenant}/api-keys`).send({ name: 'full' }).expect(201)).body;
    const as = (t: request.Test) => t.set('Authorization', `Bearer ${created.api_key}`);
    const cred = (await as(api.http.post('/credentials')).send({ name: `${name}_openai`, vendor: 'openai', keys: [`sk-iso-${name}-0123456789`, `sk-iso-${name}-abcdefghij`] }).expect(201)).body;
    const vk = (await as(api.http.post('/vault/keys')).send({ vendor: 'openai', daily_usd_cap: 1, allowed_endpoints: ['POST /v1/chat/completions'], expires_in: '1h' }).expect(201)).body;
    const wh = (await as(api.http.post('/webhooks')).send({ url: 'http://127.0.0.1:9/hook', events: ['vault_key.revoked'] }).expect(201)).body;
    // a delivery to name: revoking a second key sends the webhook an event
    const revoked = (await as(api.http.post('/vault/keys')).send({ vendor: 'openai', daily_usd_cap: 1, allowed_endpoints: ['POST /v1/chat/completions'], expires_in: '1h' }).expect(201)).body;
    await as(api.http.delete(`/vault/keys/${revoked.id}`)).expect(200);
    const deliveryId = await eventually(async () => (await as(api.http.get(`/webhooks/${wh.id}/deliveries`)).expect(200)).body.data[0]?.id as string | undefined, 'a delivery', 30_000);
    const gw = (await as(api.http.post('/gateway-keys')).send({ name: 'dify' }).expect(201)).body;
    // an audit row as the proxy writes it (the proxy is another app)
    const [auditId] = await insertAuditRows(api.db.url, [{ tenant_id: tenant, at: Date.now(), vault_key_id: vk.id, credential_id: cred.id }]);
    return {
      o: { auditId, gatewayKeyId: gw.id, tenant, apiKeyId: created.id, credentialId: cred.id, credentialName: cred.name, credentialKeyId: cred.keys[1].id, vaultKeyId: vk.id, webhookId: wh.id, deliveryId },
      key: created.api_key,
    };
  }

  beforeAll(async () => {
    api = await startApi({ KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: 'true' });
    ({ o: a, key: aKey } = await objects('a'));
    ({ o: b, key: bKey } = await objects('b'));
    const doc = (await api.http.get('/openapi.json').expect(200)).body as { paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>> };
    routes = Object.entries(doc.paths).flatMap(([template, ops]) =>
      Object.entries(ops).map(([method, op]) => ({
        method: method.toUpperCase(),
        template,
        params: (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
      })),
    ).filter((r) => r.params.length > 0);
  });
  afterAll(async () => {
    await api?.close();
    console.info(`tenant isolation: ${routes?.length ?? 0} routes with ids, ${tried} cross-tenant calls`);
  });

  /** The path up to and including a parameter: the key of its sample. */
  const prefixOf = (template: string, param: string) => template.slice(0, template.indexOf(`{${param}}`) + param.length + 2);

  /**
   * Every way to fill the route's parameters where at least one names B's object and the rest
   * name A's own: B's ids alone, or mixed in with A's (A's credential with B's key id...).
   */
  function crossTenantCalls(route: { method: string; template: string; params: string[] }, forAdmin: boolean): Call[] {
    const choices = route.params.map((param) => {
      const prefix = prefixOf(route.template, param);
      const sample = SAMPLES[prefix];
      if (!sample) throw new Error(`no sample id for {${param}} of ${route.method} ${route.template}: add '${prefix}' to SAMPLES`);
      const own = sample(a).map((v) => ({ v, other: false }));
      const other = forAdmin && tenantParam(prefix) ? [] : sample(b).map((v) => ({ v, other: true }));
      return { param, values: [own[0], ...other] };
    });
    let combos: { param: string; v: string; other: boolean }[][] = [[]];
    for (const c of choices) combos = combos.flatMap((combo) => c.values.map((x) => [...combo, { param: c.param, ...x }]));
    return combos
      .filter((combo) => combo.some((x) => x.other))
      .map((combo) => {
        let path = route.template;
        for (const x of combo) path = path.replace(`{${x.param}}`, encodeURIComponent(x.v));
        const label = `${route.method} ${route.template} with ${combo.map((x) => `${x.param}=${x.other ? "B's" : "A's"}`).join(', ')}`;
        return { label, method: route.method, path, body: BODIES[`${route.method} ${route.template}`] };
      });
  }

  const send = (call: Call, as: 'tenant' | 'admin') => {
    const t = (api.http as unknown as Record<string, (p: string) => request.Test>)[call.method.toLowerCase()](call.path);
    if (as === 'tenant') t.set('Authorization', `Bearer ${aKey}`);
    else t.set('Authorization', `Bearer ${api.config.KEYVAULT_ADMIN_TOKEN}`).set('Keyvault-Tenant', a.tenant);
    return call.body ? t.send(call.body) : t;
  };

  it('finds the routes that take ids in the document', () => {
    expect(routes.length).toBeGreaterThanOrEqual(15);
    expect(routes.map((r) => `${r.method} ${r.template}`)).toEqual(expect.arrayContaining(['GET /vault/keys/{id}', 'DELETE /credentials/{id}/keys/{key_id}', 'GET /webhooks/{id}/deliveries']));
  });

  it("answers A's API key with 404 resource_missing for every id of B (403 admin_only on admin routes)", async () => {
    for (const route of routes) {
      for (const call of crossTenantCalls(route, false)) {
        const res = await send(call, 'tenant');
        tried++;
        if (adminOnly(route.template)) {
          expect(res.status, `${call.label} → ${res.status} ${res.text}`).toBe(403);
          expect(res.body.error.code).toBe('admin_only');
        } else {
          expect(res.status, `${call.label} → ${res.status} ${res.text}`).toBe(404);
          expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'resource_missing' });
        }
        // nothing of B's comes back but what the caller itself sent
        for (const value of Object.values(b)) if (!call.path.includes(encodeURIComponent(value))) expect(res.text, call.label).not.toContain(value);
      }
    }
  });

  it("answers the admin acting in A with 404 resource_missing for every id of B's objects", async () => {
    let calls = 0;
    for (const route of routes) {
      for (const call of crossTenantCalls(route, true)) {
        const res = await send(call, 'admin');
        tried++;
        calls++;
        expect(res.status, `${call.label} → ${res.status} ${res.text}`).toBe(404);
        expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'resource_missing' });
      }
    }
    expect(calls).toBeGreaterThan(15);
  });

  it("refuses B's ids in query strings and bodies too", async () => {
    const asA = (t: request.Test) => t.set('Authorization', `Bearer ${aKey}`);
    const checks: [request.Test, number][] = [
      [asA(api.http.get(`/vault/keys?credential=${b.credentialId}`)), 404],
      [asA(api.http.get(`/vault/keys?credential=${b.credentialName}`)), 404],
      [asA(api.http.post('/vault/keys')).send({ vendor: 'openai', credential: b.credentialId, daily_usd_cap: 1, allowed_endpoints: ['POST /v1/x'], expires_in: '1h' }), 404],
      [asA(api.http.post('/vault/keys')).send({ vendor: 'openai', credential: b.credentialName, daily_usd_cap: 1, allowed_endpoints: ['POST /v1/x'], expires_in: '1h' }), 404],
      [asA(api.http.post('/vault/keys/revoke')).send({ credential: b.credentialId }), 404],
    ];
    for (const [t, status] of checks) {
      const res = await t;
      tried++;
      expect(res.status, res.text).toBe(status);
      expect(res.body.error.code).toBe('resource_missing');
    }
    const audit = await asA(api.http.get(`/audit?vault_key=${b.vaultKeyId}`)).expect(200);
    expect(audit.body.data).toEqual([]);
    // the same Idempotency-Key in two tenants is two requests, never a replay of the other's answer
    const body = { vendor: 'openai', daily_usd_cap: 1, allowed_endpoints: ['POST /v1/chat/completions'], expires_in: '1h' };
    const first = await asA(api.http.post('/vault/keys')).set('Idempotency-Key', 'shared-key').send(body).expect(201);
    const second = await api.http.post('/vault/keys').set('Authorization', `Bearer ${bKey}`).set('Idempotency-Key', 'shared-key').send(body).expect(201);
    expect(second.headers['idempotent-replayed']).toBeUndefined();
    expect(second.body.id).not.toBe(first.body.id);
  });

  it("leaves every one of B's objects as it was", async () => {
    const asB = (path: string) => api.http.get(path).set('Authorization', `Bearer ${bKey}`);
    const cred = (await asB(`/credentials/${b.credentialId}`).expect(200)).body;
    expect(cred).toMatchObject({ name: b.credentialName });
    expect(cred.keys.map((k: { id: string; status: string }) => [k.id, k.status])).toContainEqual([b.credentialKeyId, 'active']);
    expect(cred.keys).toHaveLength(2);
    expect((await asB(`/vault/keys/${b.vaultKeyId}`).expect(200)).body.status).toBe('active');
    expect((await asB(`/webhooks/${b.webhookId}`).expect(200)).body.id).toBe(b.webhookId);
    const tenant = (await api.admin().get(`/tenants/${b.tenant}`).expect(200)).body;
    expect(tenant).toMatchObject({ name: 'b', status: 'active' });
    expect((await api.admin().get(`/tenants/${b.tenant}/api-keys`).expect(200)).body.data.map((k: { id: string }) => k.id)).toEqual([b.apiKeyId]);
  });
});
