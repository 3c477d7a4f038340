import { testProxyConfig } from '@keyvault/testing';
import type { ProxyConfig } from '@keyvault/config';
import { createProxyApp, type ProxyServer } from '../../apps/proxy/src/proxy.factory';

export interface ProxyHarness {
  url: string;
  port: number;
  config: ProxyConfig;
  proxy: ProxyServer;
  /** the sum of a Prometheus series on this instance's /metrics over the label sets `match` accepts (one scrape) */
  metric(name: string, match?: (labels: Record<string, string>) => boolean): Promise<number>;
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
    async metric(name, match = () => true) {
      const text = await (await fetch(`${url}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
        if (match(labels)) sum += Number(m[3]);
      }
      return sum;
    },
    close: () => proxy.close(),
  };
}
