/**
 * The npm package: `npm pack` of the built repository, installed into an empty project with a real `npm install`
 * (strict about install scripts, with the allowScripts that docs/deploy.md tells users to declare), then
 * jobworkerp-all-in-one started from that project answers its health check, and the package's main export loads.
 *
 * To keep the suite short, better-sqlite3's install script finds its addon as a local prebuild (prebuild-install's
 * npm_config_better_sqlite3_local_prebuilds, the way to install it without a download) made from this checkout's
 * compiled addon, and does not compile SQLite again (minutes on a busy machine); compiling it in a clean install is
 * what scripts/test.sh's `npm ci` and its better-sqlite3 smoke test check. Everything else comes from the tarball and
 * the registry. A TypeScript file of the project then type-checks against the package's declarations.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../support/server-process.js';
import { REPO_ROOT, startServer } from '../support/server-process.js';

const run = promisify(execFile);

describe('npm pack, installed into an empty project', () => {
  let dir: string;
  let project: string;
  let packed: { filename: string; files: { path: string }[] };
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jw-pack-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
      cwd: REPO_ROOT,
      timeout: 120_000,
    });
    packed = (JSON.parse(stdout) as (typeof packed)[])[0]!;

    // better-sqlite3's addon as a prebuild, named as prebuild-install looks for it
    const sqlite = join(REPO_ROOT, 'node_modules/better-sqlite3');
    const { version } = JSON.parse(readFileSync(join(sqlite, 'package.json'), 'utf8')) as { version: string };
    const prebuilds = join(dir, 'prebuilds');
    mkdirSync(prebuilds);
    const tarball = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
    await run('tar', ['-czf', join(prebuilds, tarball), '-C', sqlite, 'build/Release/better_sqlite3.node']);

    project = join(dir, 'project');
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'uses-jobworkerp',
        version: '1.0.0',
        private: true,
        dependencies: { 'jobworkerp-ts': `file:../${packed.filename}` },
        allowScripts: { 'better-sqlite3': true, 'cpu-features': false, protobufjs: false, ssh2: false },
        // the version the prebuild was made from
        overrides: { 'better-sqlite3': version },
      }),
    );
    await run('npm', ['install', '--strict-allow-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: project,
      env: { ...process.env, npm_config_better_sqlite3_local_prebuilds: prebuilds },
      timeout: 600_000,
    });
  }, 720_000);

  afterAll(async () => {
    await server?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('holds the compiled apps and migrations, and no sources, tests or source maps', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'dist/apps/all-in-one/main.js',
        'dist/apps/cli/main.js',
        'dist/apps/healthcheck/main.js',
        'migrations/sqlite/001_init.sql',
        'migrations/mysql/001_init.sql',
        'dist/libs/client/src/index.d.ts',
        'dist/libs/proto/src/index.d.ts',
      ]),
    );
    // type declarations (.d.ts) are shipped; TypeScript sources are not
    expect(paths.filter((p) => /(?<!\.d)\.ts$|\.map$|\.test\.|^test\/|^scripts\//.test(p))).toEqual([]);
  });

  it('runs jobworkerp-all-in-one from the installed package; its health check answers', async () => {
    const bin = join(project, 'node_modules/.bin');
    server = await startServer({
      command: [join(bin, 'jobworkerp-all-in-one')],
      dataDir: project,
      env: { SQLITE_URL: join(project, 'data/jobworkerp.sqlite3') },
      startTimeoutMs: 60_000,
    });
    const { stdout } = await run(join(bin, 'jobworkerp-healthcheck'), [server.address], {
      cwd: project,
      timeout: 30_000,
    });
    expect(stdout.trim()).toBe(`${server.address}: SERVING`);

    const main = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import { JobServiceClient } from 'jobworkerp-ts'; console.log(typeof JobServiceClient);",
      ],
      { cwd: project, timeout: 30_000 },
    );
    expect(main.stdout.trim()).toBe('function');
  });

  it('gives TypeScript users the types of jobworkerp-ts/client', async () => {
    // strict: an untyped package would fail with "Could not find a declaration file"; the expect-error line fails
    // the check when the constructor's options lose their type
    writeFileSync(
      join(project, 'consumer.ts'),
      [
        "import { JobworkerpClient, ResponseType } from 'jobworkerp-ts/client';",
        "const client: JobworkerpClient = new JobworkerpClient({ address: 'http://127.0.0.1:9000', timeoutMs: 1000 });",
        'const direct: number = ResponseType.DIRECT;',
        '// @ts-expect-error the address is a string',
        'new JobworkerpClient({ address: 9000 });',
        'client.close();',
        'export { direct };',
        '',
      ].join('\n'),
    );
    const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    const args = [
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
    ];
    const types = ['--skipLibCheck', '--typeRoots', join(REPO_ROOT, 'node_modules/@types'), '--types', 'node'];
    const checked = await run(process.execPath, [tsc, ...args, ...types, 'consumer.ts'], {
      cwd: project,
      timeout: 120_000,
    }).catch((err: Error & { stdout?: string }) => ({ stdout: `tsc failed:\n${err.stdout ?? err.message}` }));
    expect(checked.stdout).toBe('');
  });
});
