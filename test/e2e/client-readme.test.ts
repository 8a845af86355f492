/**
 * Runs the README's "Node client library" script, as written, against a real all-in-one (on a free port instead of
 * 9000). The script imports `jobworkerp-ts/client`, so it also checks the package's `exports` entry.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../support/server-process.js';
import { REPO_ROOT, startServer } from '../support/server-process.js';

const exec = promisify(execFile);
const SECTION = '## Node client library';

/** The one ```js block of the README's client library section. */
function sectionScript(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n${SECTION}\n`);
  if (start < 0) throw new Error(`README has no "${SECTION}" section`);
  const end = readme.indexOf('\n## ', start + SECTION.length);
  const blocks = [...readme.slice(start, end < 0 ? undefined : end).matchAll(/```js\n([\s\S]*?)```/g)].map(
    (m) => m[1]!,
  );
  expect(blocks).toHaveLength(1);
  return blocks[0]!;
}

describe('README Node client library example', () => {
  let server: ServerProcess;
  // inside the package (dist/ is not committed), so that `jobworkerp-ts/client` resolves to this package itself
  const file = join(REPO_ROOT, 'dist', `readme-client-example-${process.pid}.mjs`);
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    rmSync(file, { force: true });
    await server?.stop();
  });

  it('creates a worker, runs a job and prints its decoded output, then enqueues jobs over the stream', async () => {
    writeFileSync(file, sectionScript().replaceAll('127.0.0.1:9000', server.address));
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
    const { stdout, stderr } = await exec(process.execPath, [file], { cwd: REPO_ROOT, env, timeout: 30_000 });
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^job \d+: \["hello client\\n"\]\n3 jobs enqueued\n$/);
  });
});
