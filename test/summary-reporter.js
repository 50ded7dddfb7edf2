/**
 * Prints one plain closing line, "N passed, N failed, N skipped", after Jest's own summary, so any CI
 * can read the outcome without parsing Jest's format. A test file that failed outside its tests (in a
 * beforeAll or afterAll hook, or while loading) counts as one failure: otherwise such a run would
 * read "0 failed".
 */
export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const fileFailures = results.testResults.filter(
      (file) => file.testExecError || (file.failureMessage && file.numFailingTests === 0),
    ).length;
    const failed = results.numFailedTests + fileFailures;
    const line = `${results.numPassedTests} passed, ${failed} failed, ${results.numPendingTests + results.numTodoTests} skipped`;
    process.stdout.write(`\n${line}\n`);
  }
}
