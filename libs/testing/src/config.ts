import { randomBytes } from 'node:crypto';
import { loadApiConfig, loadProxyConfig, type ApiConfig, type ProxyConfig } from '@keyvault/config';

/** Secrets the tests create, so the log scan can look for every one of them. */
export const createdSecrets = new Set<string>();

export function testSecrets() {
  const master = randomBytes(32).toString('base64');
  const admin = `adm_${randomBytes(24).toString('hex')}`;
  createdSecrets.add(master);
  createdSecrets.add(admin);
  return { KEYVAULT_MASTER_KEY: master, KEYVAULT_ADMIN_TOKEN: admin };
}

export function testApiConfig(databaseUrl: string, overrides: Record<string, string> = {}): ApiConfig {
  return loadApiConfig({
    DATABASE_URL: databaseUrl,
    ...testSecrets(),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    API_PORT: '0',
    ...overrides,
  } as NodeJS.ProcessEnv);
}

export function testProxyConfig(databaseUrl: string, masterKey: string, overrides: Record<string, string> = {}): ProxyConfig {
  return loadProxyConfig({
    DATABASE_URL: databaseUrl,
    KEYVAULT_MASTER_KEY: masterKey,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PROXY_PORT: '0',
    ...overrides,
  } as NodeJS.ProcessEnv);
}
