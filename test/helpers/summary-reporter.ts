/**
 * The vitest reporter that ends a run with one plain line `tests: N passed, N failed, N skipped`
 * (CI reads that line); used by vitest.config.ts and vitest.cluster.config.ts.
 */

import type { Reporter, TestModule } from "vitest/node";

/** Counts test cases by result; a file that failed without a failing test (it did not load) counts as one failure. */
function countResults(modules: ReadonlyArray<TestModule>): { passed: number; failed: number; skipped: number } {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (const module of modules) {
    let failedHere = 0;
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === "passed") counts.passed++;
      else if (state === "failed") failedHere++;
      else counts.skipped++;
    }
    if (failedHere === 0 && module.state() === "failed") failedHere = 1;
    counts.failed += failedHere;
  }
  return counts;
}

export const summaryLine: Reporter = {
  onTestRunEnd(modules, unhandledErrors) {
    const { passed, failed, skipped } = countResults(modules);
    process.stdout.write(`tests: ${passed} passed, ${failed + (unhandledErrors.length > 0 && failed === 0 ? 1 : 0)} failed, ${skipped} skipped\n`);
  },
};
