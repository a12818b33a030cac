import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Two test files at once, also on a 2-core machine (vitest's default there is one): most files
    // wait on child processes (servers, git, the CLIs), so the suite takes about 390 s instead of
    // 520 s. The default timeouts leave twice the margin the heaviest such test needed alone.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
