import 'reflect-metadata';
import { loadApiConfig, loadOrExit } from '@keyvault/config';
import { createApiApp } from './app.factory';

async function bootstrap(): Promise<void> {
  const config = loadOrExit(() => loadApiConfig());
  const app = await createApiApp(config);
  await app.listen(config.API_PORT, config.HOST);
}

bootstrap().catch((err: Error) => {
  process.stderr.write(`keyvault-api failed to start: ${err.message}\n`);
  process.exit(1);
});
