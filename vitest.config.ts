/**
 * Test configuration: every test file under test/ except the real-cluster suite (test/cluster/, run
 * by `npm run test:cluster` with vitest.cluster.config.ts), TZ=UTC, and one final plain line
 * `tests: N passed, N failed, N skipped` after the default report (CI reads that line).
 */

import { defineConfig } from "vitest/config";
import { summaryLine } from "./test/helpers/summary-reporter.js";

process.env["TZ"] = "UTC";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/cluster/**", "**/node_modules/**"],
    env: { TZ: "UTC" },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ["default", summaryLine],
  },
});
