import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const lib = (name: string) => resolve(import.meta.dirname, `libs/${name}/src`);

export default defineConfig({
  plugins: [swc.vite()],
  resolve: {
    alias: {
      '@keyvault/client': lib('client'),
      '@keyvault/config': lib('config'),
      '@keyvault/crypto': lib('crypto'),
      '@keyvault/db': lib('db'),
      '@keyvault/errors': lib('errors'),
      '@keyvault/net': lib('net'),
      '@keyvault/observability': lib('observability'),
      '@keyvault/policy': lib('policy'),
      '@keyvault/testing': lib('testing'),
    },
  },
  test: {
    include: ['apps/**/*.spec.ts', 'apps/**/*.e2e-spec.ts', 'libs/**/*.spec.ts', 'libs/**/*.e2e-spec.ts', 'test/**/*.spec.ts', 'test/**/*.e2e-spec.ts', 'examples/**/*.e2e-spec.ts'],
    globalSetup: ['libs/testing/src/global-setup.ts'],
    pool: 'forks',
    // Most files wait on Postgres, sockets and timers, not the CPU: three at once halve the suite on
    // two cores (506 s → 248 s measured) and peak at ~46 Postgres connections, well under the
    // default max_connections of 100. Vitest's own default here would be one (cores - 1).
    maxWorkers: 3,
    // Each worker runs its files one after another in one process, keeping the modules it loaded:
    // a fresh process per file spent ~2.5 s of CPU importing Nest, TypeORM and the apps again
    // each time (most of the suite's CPU on two cores). Every file makes its own database, apps
    // and stubs, and closes them; the apps keep no state in their modules (metrics have a
    // registry per app), so files do not see each other.
    isolate: false,
    // and a spy on a prototype (vi.spyOn) goes back after every test, even one that failed before
    // restoring it, so that it cannot reach the files the worker runs next
    restoreMocks: true,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
