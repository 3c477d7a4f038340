import { testProxyConfig } from '@keyvault/testing';
import type { ProxyConfig } from '@keyvault/config';
import { createProxyApp, type ProxyServer } from '../../apps/proxy/src/proxy.factory';

export interface ProxyHarness {
  url: string;
  port: number;
  config: ProxyConfig;
  proxy: ProxyServer;
  /** the value of a Prometheus series on this instance's /metrics (sum over matching labels) */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/** Boots the real proxy on 127.0.0.1 (any free port) against an existing database. */
export async function startProxy(dbUrl: string, masterKey: string, overrides: Record<string, string> = {}): Promise<ProxyHarness> {
  const config = testProxyConfig(dbUrl, masterKey, { KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: 'true', ...overrides });
  const proxy = await createProxyApp(config);
  const port = await proxy.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    config,
    proxy,
    async metric(name, labels = {}) {
      const text = await (await fetch(`${url}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
      }
      return sum;
    },
    close: () => proxy.close(),
  };
}
