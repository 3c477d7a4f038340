import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiHarness } from '../../../test/harness/api';

/** A GET from a chosen loopback source address (127.0.0.0/8 is all ours). */
function getFrom(api: ApiHarness, localAddress: string, path: string, token?: string): Promise<{ status: number; headers: Record<string, unknown>; body: any }> {
  const { port } = api.app.getHttpServer().address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, localAddress, headers: token ? { Authorization: `Bearer ${token}` } : {} },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('authentication hardening', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi({ KEYVAULT_FAILED_AUTH_LIMIT: '5' });
  });
  afterAll(async () => api?.close());

  it('rate-limits failed authentications per client address, leaving valid credentials and other callers alone', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await getFrom(api, '127.0.0.3', '/tenants', `kv_live_${'x'.repeat(58)}`)).status).toBe(401);
    }
    const blocked = await getFrom(api, '127.0.0.3', '/tenants', 'also-wrong');
    expect(blocked.status).toBe(429);
    expect(blocked.body.error).toMatchObject({ type: 'rate_limit_error', code: 'too_many_failed_authentications' });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // a valid credential from that address is never refused
    expect((await getFrom(api, '127.0.0.3', '/tenants', api.config.KEYVAULT_ADMIN_TOKEN)).status).toBe(200);
    // a valid caller from another address is served as usual
    expect((await getFrom(api, '127.0.0.4', '/tenants', api.config.KEYVAULT_ADMIN_TOKEN)).status).toBe(200);
  });

  it('refuses credentials in the query string', async () => {
    const res = await api.http.get(`/tenants?api_key=${api.config.KEYVAULT_ADMIN_TOKEN}`).expect(401);
    expect(res.body.error).toMatchObject({ type: 'authentication_error', code: 'token_in_query' });
    expect(JSON.stringify(res.body)).not.toContain(api.config.KEYVAULT_ADMIN_TOKEN);
  });
});
