import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiHarness } from '../../../test/harness/api';

const BANNER = `/**
 * Types of the Keyvault api, generated from its live OpenAPI document (GET /openapi.json).
 * Do not edit: run \`npm run client:generate\` after changing a route, DTO or view.
 */

`;

/**
 * The client's types are the api's OpenAPI document run through openapi-typescript. This test
 * regenerates them from a freshly booted api and compares with the committed file, so a route,
 * DTO or view that changes without a regeneration fails here (and `npm run client:generate`,
 * which runs this file with -u, rewrites it).
 */
describe('@keyvault/client types', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => api?.close());

  it('match the live OpenAPI document (run `npm run client:generate` if this fails)', async () => {
    const document = (await api.http.get('/openapi.json').expect(200)).body;
    // defaultNonNullable: a field with a default is optional in a request body (the server fills it in)
    const generated = BANNER + astToString(await openapiTS(document, { defaultNonNullable: false }));
    await expect(generated).toMatchFileSnapshot('./openapi.generated.ts');
  });
});
