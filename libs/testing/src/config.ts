import { randomBytes } from 'node:crypto';
import { loadApiConfig, loadProxyConfig, type ApiConfig, type ProxyConfig } from '@keyvault/config';
import { createdSecrets, testLogFile } from './run-capture';

export function testSecrets() {
  const master = randomBytes(32).toString('base64');
  const admin = `adm_${randomBytes(24).toString('hex')}`;
  createdSecrets.add(master);
  createdSecrets.add(admin);
  return { KEYVAULT_MASTER_KEY: master, KEYVAULT_ADMIN_TOKEN: admin };
}

/**
 * Inside a vitest run, apps log at debug level to the run's log file, which the global teardown
 * scans for every secret the tests created; TEST_LOG_LEVEL overrides the level.
 */
function logSettings(): Record<string, string> {
  const file = testLogFile();
  return file ? { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'debug', LOG_FILE: file } : { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' };
}

export function testApiConfig(databaseUrl: string, overrides: Record<string, string> = {}): ApiConfig {
  const config = loadApiConfig({
    DATABASE_URL: databaseUrl,
    ...testSecrets(),
    ...logSettings(),
    API_PORT: '0',
    ...overrides,
  } as NodeJS.ProcessEnv);
  // overrides may bring their own (a second instance sharing the first one's keys)
  createdSecrets.add(config.KEYVAULT_MASTER_KEY);
  createdSecrets.add(config.KEYVAULT_ADMIN_TOKEN);
  for (const k of config.KEYVAULT_PREVIOUS_MASTER_KEYS) createdSecrets.add(k);
  return config;
}

export function testProxyConfig(databaseUrl: string, masterKey: string, overrides: Record<string, string> = {}): ProxyConfig {
  return loadProxyConfig({
    DATABASE_URL: databaseUrl,
    KEYVAULT_MASTER_KEY: masterKey,
    ...logSettings(),
    PROXY_PORT: '0',
    // tests send invalid keys from 127.0.0.1 by the hundred; the limiter's own test sets it low
    KEYVAULT_FAILED_AUTH_LIMIT: '100000',
    ...overrides,
  } as NodeJS.ProcessEnv);
}
