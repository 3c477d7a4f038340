import { startDifyStub } from './dify-stub';
import { createChatBackend } from './server';

/** Runs the example backend with settings from the environment (see README.md beside this file). */
async function main(): Promise<void> {
  const env = process.env;
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} is required (see examples/dify-backend/README.md)`);
    return value;
  };
  const keyvault = {
    apiUrl: env.KEYVAULT_API_URL ?? 'http://localhost:3000',
    apiKey: required('KEYVAULT_API_KEY'),
    credential: required('KEYVAULT_CREDENTIAL'),
    dailyUsdCap: Number(env.DAILY_USD_CAP ?? '5'),
  };

  let dify = { apiUrl: env.DIFY_API_URL ?? '', appKey: env.DIFY_APP_KEY ?? '' };
  if (!dify.apiUrl) {
    // No Dify at hand: a local stand-in runs the guide's Chatflow against the Keyvault proxy.
    const stub = await startDifyStub({ appKey: 'app-local-stub', proxyUrl: env.KEYVAULT_PROXY_URL ?? 'http://localhost:8080' });
    dify = { apiUrl: stub.url, appKey: 'app-local-stub' };
    process.stdout.write(`DIFY_API_URL is unset: using a local Dify stub at ${stub.url}\n`);
  }

  const port = Number(env.PORT ?? '4000');
  createChatBackend({ keyvault, dify }).listen(port, '127.0.0.1', () => {
    process.stdout.write(`chat backend on http://127.0.0.1:${port}  (POST /chat, POST /chat/{chat_id}/end)\n`);
  });
}

main().catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
