import 'reflect-metadata';
import cluster from 'node:cluster';
import { loadApiConfig, loadOrExit } from '@keyvault/config';
import { createApiApp } from './app.factory';
import { runApiPrimary } from './cluster-primary';

async function bootstrap(): Promise<void> {
  const config = loadOrExit(() => loadApiConfig());
  if (config.API_WORKERS > 1 && cluster.isPrimary) return runApiPrimary(config.API_WORKERS, config.LOG_LEVEL);
  const app = await createApiApp(config);
  await app.listen(config.API_PORT, config.HOST);
}

bootstrap().catch((err: Error) => {
  process.stderr.write(`keyvault-api failed to start: ${err.message}\n`);
  process.exit(1);
});
