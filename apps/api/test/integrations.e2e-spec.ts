import { validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiHarness } from '../../../test/harness/api';

const VENDORS = ['openai', 'anthropic', 'stripe', 'twilio', 'resend'] as const;
const VENDOR_PATHS: Record<(typeof VENDORS)[number], string> = {
  openai: '/openai/v1/chat/completions',
  anthropic: '/anthropic/v1/messages',
  stripe: '/stripe/v1/payment_intents',
  twilio: '/twilio/2010-04-01/Accounts/{AccountSid}/Messages.json',
  resend: '/resend/emails',
};

type Doc = {
  openapi: string;
  servers: { url: string }[];
  security: Record<string, string[]>[];
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
  paths: Record<string, Record<string, Record<string, unknown>>>;
};

describe('Dify custom tool schema (GET /integrations/dify/openapi.json)', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi({ KEYVAULT_PUBLIC_PROXY_URL: 'https://proxy.keyvault.example/' });
  });
  afterAll(async () => api?.close());

  it.each(VENDORS)('serves a valid OpenAPI 3 document for %s with bearer auth, without credentials', async (vendor) => {
    const res = await api.http.get(`/integrations/dify/openapi.json?vendor=${vendor}`).expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const doc = res.body as Doc;

    const result = await validate(structuredClone(res.body));
    expect(result.valid, JSON.stringify(result)).toBe(true);
    expect(doc.openapi).toMatch(/^3\.0\./);

    expect(doc.components.securitySchemes.vault_key).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ vault_key: [] }]);
    expect(doc.servers).toEqual([{ url: 'https://proxy.keyvault.example' }]);
    expect(Object.keys(doc.paths)).toEqual([VENDOR_PATHS[vendor]]);
  });

  it.each(VENDORS)('%s: every operation has what Dify needs to import it', async (vendor) => {
    const doc = (await api.http.get(`/integrations/dify/openapi.json?vendor=${vendor}`).expect(200)).body as Doc;
    for (const pathItem of Object.values(doc.paths)) {
      for (const op of Object.values(pathItem)) {
        // Dify keys tools by operationId and shows the description to the LLM
        expect(op.operationId).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
        expect(op.description).toEqual(expect.any(String));
        expect(op['x-keyvault-allowed-endpoint']).toMatch(/^POST \//);
        // Dify's parser resolves no $ref in parameters and only one at the body's root: keep them inline
        expect(JSON.stringify(op.parameters)).not.toContain('$ref');
        expect(JSON.stringify(op.requestBody)).not.toContain('$ref');
        const headers = (op.parameters as { name: string; in: string }[]).filter((p) => p.in === 'header').map((p) => p.name);
        expect(headers).toEqual(expect.arrayContaining(['X-Dify-Workflow-Run-Id', 'X-Conversation-Id']));
      }
    }
  });

  it('refuses an unknown vendor with 400 naming the param', async () => {
    const res = await api.http.get('/integrations/dify/openapi.json?vendor=acme').expect(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'parameter_invalid', param: 'vendor' });
    expect(res.body.error.message).toContain('openai');
  });

  it('refuses a missing vendor with 400 naming the param', async () => {
    const res = await api.http.get('/integrations/dify/openapi.json').expect(400);
    expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param: 'vendor' });
  });

  it('is listed in the api\'s own OpenAPI document', async () => {
    const doc = (await api.http.get('/openapi.json').expect(200)).body as Doc;
    expect(doc.paths['/integrations/dify/openapi.json']).toBeDefined();
  });
});

describe('Dify custom tool schema without KEYVAULT_PUBLIC_PROXY_URL', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => api?.close());

  it('points at the host the api was reached on, at the proxy port 8080', async () => {
    const res = await api.http.get('/integrations/dify/openapi.json?vendor=openai').set('Host', 'keyvault.internal:3000').expect(200);
    expect(res.body.servers).toEqual([{ url: 'http://keyvault.internal:8080' }]);
  });

  it('falls back to localhost when the Host header is no host name', async () => {
    const res = await api.http.get('/integrations/dify/openapi.json?vendor=stripe').set('Host', 'not a host').expect(200);
    expect(res.body.servers).toEqual([{ url: 'http://localhost:8080' }]);
  });
});
