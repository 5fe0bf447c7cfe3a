import { defineConfig } from 'vitest/config';

// Native addons can segfault under worker threads (vitest docs): run every file in a forked process.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
