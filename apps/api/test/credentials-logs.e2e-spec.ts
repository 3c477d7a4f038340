import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@keyvault/testing';
import { providerKey } from './support/credential-fixtures';
import { freePort } from '../../../test/harness/free-port';

const API_MAIN = join(__dirname, '../../../dist/apps/api/apps/api/src/main.js');

/**
 * The built api, run as in production but at LOG_LEVEL=debug, with everything it writes to
 * stdout and stderr captured: no provider key may appear there, nor in any answer.
 */
describe('provider keys never reach logs or error bodies', () => {
  let db: TestDatabase;
  let child: ChildProcess;
  let output = '';
  let base: string;
  const admin = `kv_admin_${randomBytes(24).toString('hex')}`;
  const master = randomBytes(32).toString('base64');
  const secrets: string[] = [];
  const answers: string[] = [];

  const key = () => {
    const k = providerKey();
    secrets.push(k);
    return k;
  };
  const call = async (t: request.Test) => {
    const res = await t.set('Authorization', `Bearer ${admin}`);
    answers.push(res.text);
    return res;
  };

  beforeAll(async () => {
    if (!existsSync(API_MAIN)) throw new Error(`${API_MAIN} is missing: run \`npm run build\` first`);
    db = await createTestDatabase();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [API_MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: db.url,
        KEYVAULT_MASTER_KEY: master,
        KEYVAULT_ADMIN_TOKEN: admin,
        API_PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'debug',
      },
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    for (;;) {
      if (child.exitCode !== null) throw new Error(`api exited (${child.exitCode}): ${output}`);
      const up = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
      if (up) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    await db?.drop();
  });

  it('creates, rotates and fails in every way with keys in the body, then finds none of them anywhere', async () => {
    const http = request(base);
    const tenant = (await call(http.post('/tenants').send({ name: 'Logged' }))).body.id as string;
    const inTenant = (t: request.Test) => call(t.set('Keyvault-Tenant', tenant));

    const created = await inTenant(http.post('/credentials').set('Idempotency-Key', 'log-1').send({ name: 'logged_openai', vendor: 'openai', keys: [key(), key()] }));
    expect(created.status).toBe(201);
    const replayBody = { name: 'logged_openai', vendor: 'openai', keys: [secrets[0], secrets[1]] };
    expect((await inTenant(http.post('/credentials').set('Idempotency-Key', 'log-1').send(replayBody))).status).toBe(201);
    expect((await inTenant(http.post('/credentials').set('Idempotency-Key', 'log-1').send({ ...replayBody, keys: [key()] }))).status).toBe(409);
    expect((await inTenant(http.post(`/credentials/${created.body.id}/keys`).send({ key: key() }))).status).toBe(201);
    expect((await inTenant(http.delete(`/credentials/${created.body.id}/keys/${created.body.keys[0].id}`))).status).toBe(200);

    const refusals: [request.Test, number][] = [
      [http.post('/credentials').send({ name: 'logged_openai', vendor: 'openai', keys: [key()] }), 409],
      [http.post('/credentials').send({ name: 'bad key', vendor: 'openai', keys: [`${key()} x`] }), 400],
      [http.post('/credentials').send({ name: 'ws', vendor: 'openai', keys: [`${key()}\t`] }), 400],
      [http.post('/credentials').send({ name: 'unknown', vendor: 'openai', keys: [key()], api_key: key() }), 400],
      [http.post('/credentials').send({ name: 'vendor', vendor: key(), keys: [key()] }), 400],
      [http.post('/credentials').send({ name: key(), vendor: 'openai', keys: [key()], strategy: 'nope' }), 400],
      [http.post('/credentials').send({ name: 'ssrf', vendor: 'openai_compatible', keys: [key()], base_url: `https://${key()}@8.8.8.8/v1` }), 422],
      [http.post('/credentials').send({ name: 'ssrf2', vendor: 'openai_compatible', keys: [key()], base_url: `https://127.0.0.1/${key()}` }), 422],
      [http.post('/credentials').set('Content-Type', 'application/json').send(`{"name": "broken", "keys": ["${key()}"`), 400],
      [http.post(`/credentials/${created.body.id}/keys`).send({ key: [key()] }), 400],
      [http.post(`/credentials/${created.body.id}/keys`).send({ key: `${key()} ` }), 400],
      [http.get(`/credentials?starting_after=${key()}`), 400],
    ];
    for (const [t, status] of refusals) expect((await inTenant(t)).status).toBe(status);
    // a tenant API key with the wrong scope, and a forged one
    // (the one answer that shows a secret: the API key, once, at its creation)
    const { body: k } = await http.post(`/tenants/${tenant}/api-keys`).set('Authorization', `Bearer ${admin}`).send({ name: 'reader', scopes: ['credentials:read'] });
    secrets.push(k.api_key);
    const denied = await http.post('/credentials').set('Authorization', `Bearer ${k.api_key}`).send({ name: 'x', vendor: 'openai', keys: [key()] });
    answers.push(denied.text);
    expect(denied.status).toBe(403);

    // Stop the api so every buffered line is out before the scan.
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));

    const lines = output.split('\n').filter(Boolean);
    // the capture works: the api's request lines, refusals included, are there
    expect(lines.filter((l) => l.includes('"url":"/credentials"')).length).toBeGreaterThanOrEqual(refusals.length);
    expect(lines.some((l) => l.includes('"status":422'))).toBe(true);
    for (const secret of [...secrets, master, admin]) {
      expect(lines.filter((l) => l.includes(secret))).toEqual([]);
      expect(answers.filter((a) => a.includes(secret))).toEqual([]);
    }
  });
});
