import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // most suites wait on real-time media (ffmpeg, players, segments), not on the CPU: two files at a time on
    // the 2-core CI machine halves the wall time (measured: 492 s -> 253 s). `npm test` runs the browser suites
    // afterwards, alone: their latency checks (LL-HLS < 2 s) must not share the CPU with an ffmpeg ladder
    maxWorkers: 2,
    minWorkers: 1,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
