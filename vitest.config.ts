import { defineConfig } from 'vitest/config';

// One config, three projects: the two packages' unit tests and the e2e suite.
// `pnpm test` runs them through Nx so the packages are built and packed first.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'core', root: 'packages/core', include: ['src/**/*.test.ts'] } },
      {
        test: {
          name: 'nx',
          root: 'packages/nx',
          include: ['src/**/*.test.ts'],
          // GitHub's workflow parser imports its JSON schema without an import attribute, which Node 20 refuses: let Vite load it.
          server: { deps: { inline: ['@actions/workflow-parser'] } },
        },
      },
      {
        test: {
          name: 'e2e',
          root: 'e2e',
          include: ['**/*.test.ts'],
          globalSetup: ['./support/global-setup.ts'],
          testTimeout: 240_000,
          hookTimeout: 240_000,
          // Two files at once: most of an e2e test is waiting on the nx processes it starts, and the suite must fit
          // its time budget on 2 cores. Each file has its own workspaces, S3 server (a free port) and Nx cache.
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
    ],
  },
});
