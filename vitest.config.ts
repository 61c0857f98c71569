import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: {
      'snakepit-rx/operators': fileURLToPath(new URL('./lib/operators/index.ts', import.meta.url)),
      'snakepit-rx/browser': fileURLToPath(new URL('./lib/browser/index.ts', import.meta.url)),
      'snakepit-rx/arrow': fileURLToPath(new URL('./lib/arrow/index.ts', import.meta.url)),
      'snakepit-rx': fileURLToPath(new URL('./lib/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['spec/**/*.spec.ts'],
    globalSetup: ['spec/support/global-setup.ts', 'spec/support/browser-global-setup.ts'],
    setupFiles: ['spec/support/no-leaked-workers.ts', 'spec/support/no-leaked-browsers.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    typecheck: { enabled: true, include: ['spec/**/*.test-d.ts'] },
  },
});
