/**
 * Our system as the benchmark runs it, from the compiled apps with the echo plugin loaded:
 * - Scalable: a grpc-front and (optionally) one worker process on the run's Redis and MariaDB database, under a
 *   Redis key prefix of their own;
 * - Standalone: one all-in-one process with a SQLite file in a temp folder and in-memory queues.
 * stop() stops the processes, then purges the Redis namespace or removes the temp folder.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { purgeRedisNamespace } from '../libs/queue/src/index.js';
import type { MariaDbServer } from './bench-options.js';
import type { AppName } from './bench-paths.js';
import { appScript, PLUGINS_DIR } from './bench-paths.js';
import type { NodeProcess } from './node-process.js';
import { startNodeProcess } from './node-process.js';

export interface DeploymentSettings {
  readonly redisUrl: string;
  readonly mariadb: MariaDbServer;
  /** the run's database on `mariadb` */
  readonly database: string;
  /** concurrency of the default channel of a process that runs jobs */
  readonly workerConcurrency: number;
  /** JOB_QUEUE_MAX_PENDING: room for every job a scenario queues */
  readonly maxPending: number;
  /** write CPU profiles under this folder (one subfolder per process) */
  readonly cpuProfDir: string | undefined;
  /** every process serves Prometheus metrics (METRICS_ADDR on a free port), as the compose files have it */
  readonly metrics?: boolean;
}

export interface JobworkerpDeployment {
  /** host:port of the gRPC API */
  readonly address: string;
  /** the process that runs the jobs: the worker (Scalable) or the all-in-one; undefined when none runs */
  readonly jobRunner: NodeProcess | undefined;
  /** every process of the deployment, front first */
  readonly processes: readonly NodeProcess[];
  /** what the processes printed, for an error message */
  output(): string;
  /** starts one more worker process (Scalable), which becomes the job runner; resolves once it is ready */
  startWorker(): Promise<NodeProcess>;
  stop(): Promise<void>;
}

/**
 * What our processes log when they are ready: the front's listening line (with its port) or the worker's; info lines
 * on stdout, so the processes run with LOG_LEVEL=info.
 */
const READY = /listening on \S*:(\d+)|worker started/;

/** Starts a Scalable grpc-front and, with `withWorker`, one worker process, under the key prefix `prefix`. */
export async function startScalable(
  settings: DeploymentSettings,
  scenario: string,
  prefix: string,
  withWorker: boolean,
): Promise<JobworkerpDeployment> {
  const env = {
    STORAGE_TYPE: 'Scalable',
    REDIS_URL: settings.redisUrl,
    REDIS_KEY_PREFIX: prefix,
    MYSQL_HOST: settings.mariadb.host,
    MYSQL_PORT: String(settings.mariadb.port),
    MYSQL_USER: settings.mariadb.user,
    MYSQL_DBNAME: settings.database,
  };
  return start(settings, scenario, env, withWorker ? ['grpc-front', 'worker'] : ['grpc-front'], async () => {
    await purgeRedisNamespace({ url: settings.redisUrl, cluster: false }, prefix);
  });
}

/** Starts one Standalone all-in-one process (SQLite in a temp folder, in-memory queues). */
export async function startStandalone(settings: DeploymentSettings, scenario: string): Promise<JobworkerpDeployment> {
  return start(settings, scenario, { STORAGE_TYPE: 'Standalone' }, ['all-in-one'], async () => undefined);
}

async function start(
  settings: DeploymentSettings,
  scenario: string,
  modeEnv: Readonly<Record<string, string>>,
  apps: readonly AppName[],
  cleanUp: () => Promise<void>,
): Promise<JobworkerpDeployment> {
  const dir = mkdtempSync(join(tmpdir(), 'jw-bench-'));
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? dir,
    GRPC_ADDR: '127.0.0.1:0',
    // the ready lines are info lines; a job that succeeds logs nothing at info
    LOG_LEVEL: 'info',
    SQLITE_URL: join(dir, 'jobworkerp.sqlite3'),
    PLUGINS_RUNNER_DIR: PLUGINS_DIR,
    WORKER_DEFAULT_CONCURRENCY: String(settings.workerConcurrency),
    JOB_QUEUE_MAX_PENDING: String(settings.maxPending),
    ...(settings.metrics === true ? { METRICS_ADDR: '127.0.0.1:0' } : {}),
    ...modeEnv,
  };
  const processes: NodeProcess[] = [];
  const stop = async (): Promise<void> => {
    // the worker first, so no job is claimed from a front that is already gone
    for (const p of [...processes].reverse()) await p.stop();
    try {
      await cleanUp();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const startApp = async (app: AppName): Promise<NodeProcess> => {
    const started = await startNodeProcess({
      name: `${scenario} ${app}`,
      script: appScript(app),
      execArgv: profileFlags(settings.cpuProfDir, `${scenario}-${app}`),
      env,
      // a folder of its own: no .env of the repository is read
      cwd: dir,
      ready: READY,
    });
    processes.push(started);
    return started;
  };
  try {
    for (const app of apps) await startApp(app);
  } catch (err) {
    await stop();
    throw err;
  }
  const front = processes[0]!;
  if (front.port === undefined) {
    await stop();
    throw new Error(`${front.name} printed no port in its ready line`);
  }
  return {
    address: `127.0.0.1:${front.port}`,
    get jobRunner() {
      return processes.find((p) => !p.name.endsWith('grpc-front'));
    },
    processes,
    startWorker: () => startApp('worker'),
    output: () => processes.map((p) => `--- ${p.name}\n${p.output()}`).join('\n'),
    stop,
  };
}

/** --cpu-prof into a folder of its own (the plugin's worker threads write their own profiles there too). */
function profileFlags(cpuProfDir: string | undefined, name: string): readonly string[] {
  if (cpuProfDir === undefined) return [];
  const dir = join(cpuProfDir, name);
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', '--cpu-prof-dir', dir];
}
