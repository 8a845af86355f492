// Prints the closing line "N passed, N failed" from vitest's JSON report.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test-results/vitest.json';
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  console.log(`could not read ${file}: ${err.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
// a suite that failed to load counts as a failure even though none of its tests ran
const failedSuites = (report.testResults ?? []).filter((s) => s.status === 'failed' && s.assertionResults.length === 0);
const failed = (report.numFailedTests ?? 0) + failedSuites.length;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
for (const s of failedSuites) console.log(`suite failed to run: ${s.name}: ${s.message ?? ''}`);
console.log(`${passed} passed, ${failed} failed` + (skipped > 0 ? `, ${skipped} skipped` : ''));
process.exit(failed > 0 || passed === 0 ? 1 : 0);
