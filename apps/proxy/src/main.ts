import 'reflect-metadata';
import { loadOrExit, loadProxyConfig } from '@keyvault/config';
import { createProxyApp } from './proxy.factory';

async function bootstrap(): Promise<void> {
  const config = loadOrExit(() => loadProxyConfig());
  const proxy = await createProxyApp(config);
  await proxy.listen(config.PROXY_PORT, config.HOST);
  // SIGTERM (orchestrators) and SIGINT (a terminal): finish what is in flight, write the audit, exit.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      proxy.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

bootstrap().catch((err: Error) => {
  process.stderr.write(`keyvault-proxy failed to start: ${err.message}\n`);
  process.exit(1);
});
