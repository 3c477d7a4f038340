import 'reflect-metadata';
import { loadOrExit, loadProxyConfig } from '@keyvault/config';
import { createProxyApp } from './proxy.factory';

async function bootstrap(): Promise<void> {
  const config = loadOrExit(() => loadProxyConfig());
  const app = await createProxyApp(config);
  await app.listen(config.PROXY_PORT, config.HOST);
}

bootstrap().catch((err: Error) => {
  process.stderr.write(`keyvault-proxy failed to start: ${err.message}\n`);
  process.exit(1);
});
