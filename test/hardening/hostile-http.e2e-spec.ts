import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAiStub, type OpenAiStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../harness/api';
import { startProxy, type ProxyHarness } from '../harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../harness/proxy-fixtures';
import { rawRequest } from '../harness/raw-http';

/** Bytes in, every byte out until the server closes (for what no HTTP client will send). */
function rawBytes(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => (text += d));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.end(bytes);
  });
}

function parseRawResponse(text: string): { status: number; headers: string; body: any } {
  const [head, body] = [text.slice(0, text.indexOf('\r\n\r\n')), text.slice(text.indexOf('\r\n\r\n') + 4)];
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), headers: head.toLowerCase(), body: JSON.parse(body) };
}

/** Requests refused before any route runs, on both apps: every answer has the contract's JSON body. */
describe('hostile HTTP on both apps', () => {
  let api: ApiHarness;
  let stub: OpenAiStub;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let apiPort: number;
  let token: string;
  const apps = () => [
    ['api', apiPort, '/tenants', { authorization: `Bearer ${api.config.KEYVAULT_ADMIN_TOKEN}` }],
    ['proxy', proxy.port, '/openai/v1/chat/completions', { authorization: `Bearer ${token}` }],
  ] as const;

  beforeAll(async () => {
    api = await startApi();
    apiPort = (api.app.getHttpServer().address() as AddressInfo).port;
    stub = await startOpenAiStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: stub.url, KEYVAULT_MAX_BODY_BYTES: '4096' });
    const tenantId = await fx.tenant('Hostile');
    const cred = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-hostile-http'] })).id;
    token = (await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: cred, capUsd: 5, allowed: ['POST /v1/chat/completions'] })).token;
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  it('answers headers over the limit with 431 headers_too_large and a JSON body, then serves the next caller', async () => {
    for (const [name, port, path, auth] of apps()) {
      const res = await rawRequest(port, 'POST', path, { ...auth, 'content-type': 'application/json', 'x-padding': 'p'.repeat(20_000) }, '{}');
      expect(res.status, name).toBe(431);
      expect(res.headers['content-type'], name).toMatch(/^application\/json/);
      expect(JSON.parse(res.body).error, name).toEqual({ type: 'invalid_request_error', code: 'headers_too_large', message: expect.any(String) });
      // one header too large, or many small ones adding up
      const many = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`x-h${i}`, 'v'.repeat(60)]));
      expect((await rawRequest(port, 'GET', path, { ...auth, ...many })).status, name).toBe(431);
    }
    expect(stub.seen()).toHaveLength(0);
    expect((await api.admin().get('/tenants')).status).toBe(200);
  });

  it('answers a request that is not HTTP with 400 malformed_request and a JSON body', async () => {
    for (const [name, port] of apps()) {
      for (const garbage of ['GARBAGE\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'GET /\u0000 HTTP/1.1\r\nHost: x\r\n\r\n', 'POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n']) {
        const res = parseRawResponse(await rawBytes(port, garbage));
        expect(res.status, `${name}: ${JSON.stringify(garbage)}`).toBe(400);
        expect(res.headers).toContain('content-type: application/json');
        expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'malformed_request' });
      }
    }
  });

  it('refuses a body over the limit with 413 request_too_large on both apps', async () => {
    const apiBig = JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 10) });
    const a = await rawRequest(apiPort, 'POST', '/tenants', { ...apps()[0][3], 'content-type': 'application/json' }, apiBig);
    expect(a.status).toBe(413);
    expect(JSON.parse(a.body).error).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large' });
    const proxyBig = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(5000) }] });
    const p = await rawRequest(proxy.port, 'POST', '/openai/v1/chat/completions', { ...apps()[1][3], 'content-type': 'application/json' }, proxyBig);
    expect(p.status).toBe(413);
    expect(JSON.parse(p.body).error).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large' });
    expect(stub.seen()).toHaveLength(0);
  });

  it.each(['{"name":', '{"name": "a",}', "{'name': 'a'}", '{"name": "\\x"}', 'nul', '\u0000'])(
    'refuses the malformed JSON %j with 400 invalid_json on both apps',
    async (text) => {
      for (const [name, port, path, auth] of apps()) {
        const res = await rawRequest(port, 'POST', path, { ...auth, 'content-type': 'application/json' }, text);
        expect(res.status, name).toBe(400);
        expect(JSON.parse(res.body).error, name).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
      }
      expect(stub.seen()).toHaveLength(0);
    },
  );
});
