/**
 * The benchmark harness works end to end: `bench/main.ts` (run through tsx, as the test suite has no compiled
 * bench) measures both systems with tiny numbers, prints every line of the comparison table and writes its JSON
 * file to the folder given. Checks the harness only: no figure is compared with anything.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../bench/bench-report.js';
import { MEASURES } from '../../bench/report-rows.js';

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const resultsDir = mkdtempSync(join(tmpdir(), 'jw-bench-smoke-'));

function runBench(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench', 'main.ts'), ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bench harness smoke run', () => {
  afterAll(() => rmSync(resultsDir, { recursive: true, force: true }));

  it('prints every line of the table and writes the JSON result file', async () => {
    const { code, stdout, stderr } = await runBench([
      '--jobs',
      '50',
      '--warmup-jobs',
      '10',
      '--direct-jobs',
      '20',
      '--memory-jobs',
      '1000',
      '--cron-ticks',
      '2',
      '--results-dir',
      resultsDir,
    ]);
    expect(code, stderr).toBe(0);

    for (const measure of MEASURES) expect(stdout).toContain(`| ${measure} (`);
    expect(stdout).toMatch(/^Machine: .+ cores/m);

    const files = readdirSync(resultsDir).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const report = JSON.parse(readFileSync(join(resultsDir, files[0]!), 'utf8')) as BenchReport;
    expect(report.options.jobs).toBe(50);
    expect(report.rows.map((r) => r.measure)).toEqual([...MEASURES]);
    // every figure was measured (a number), whatever its value
    for (const row of report.rows) {
      expect(Number.isFinite(row.ours), row.measure).toBe(true);
      expect(Number.isFinite(row.bullmq), row.measure).toBe(true);
    }
    // the metrics cost: worker and front CPU per job with METRICS_ADDR off and on, each measured
    const cost = report.info.filter((r) => r.measure.includes('METRICS_ADDR') || r.measure.includes('metrics cost'));
    expect(cost).toHaveLength(10);
    for (const row of cost) expect(Number.isFinite(row.value), row.measure).toBe(true);
    // the cron ticks: each mode's lag to the enqueue and to the start, measured over the ticks it saw
    for (const mode of ['standalone', 'scalable'] as const) {
      const cron = report.results.cronTicks?.[mode];
      expect(cron?.ticks, mode).toBeGreaterThanOrEqual(1);
      for (const f of [cron!.enqueued, cron!.started]) {
        expect([f.p50Ms, f.p99Ms, f.maxMs].every(Number.isFinite), mode).toBe(true);
      }
    }
    expect(stdout).toMatch(/^\| Scalable: job started \| \d+ \| -?\d+ \| -?\d+ \| -?\d+ \|$/m);
  }, 240_000);

  it('runs the cron-ticks scenario alone with --only-cron-ticks', async () => {
    const { code, stdout, stderr } = await runBench(['--only-cron-ticks', '--cron-ticks', '2']);
    expect(code, stderr).toBe(0);
    for (const line of ['Standalone: job enqueued', 'Standalone: job started', 'Scalable: job enqueued']) {
      expect(stdout).toMatch(new RegExp(`^\\| ${line} \\| \\d+ \\| -?\\d+ \\| -?\\d+ \\| -?\\d+ \\|$`, 'm'));
    }
    expect(stderr).not.toContain('BullMQ');
    expect(stderr).not.toContain('throughput');
  }, 120_000);

  it('runs the metrics-cost scenario alone with --only-metrics-cost', async () => {
    const { code, stdout, stderr } = await runBench(['--only-metrics-cost', '--jobs', '50', '--warmup-jobs', '10']);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^\| Scalable, METRICS_ADDR off: worker process CPU time per job \(ms\) \| \d/m);
    expect(stdout).toMatch(/^\| Scalable, METRICS_ADDR on: worker process CPU time per job \(ms\) \| \d/m);
    expect(stdout).toContain('| Scalable, metrics cost (on − off): grpc-front process CPU time per job (ms) |');
    // nothing else ran
    expect(stderr).not.toContain('BullMQ throughput');
    expect(stderr).not.toContain('Standalone');
  }, 120_000);
});
