/**
 * Where the programs the benchmark starts live. Our apps always run compiled (dist/apps/<app>/main.js), as users
 * run them. The benchmark's own child scripts run the way the benchmark itself runs: compiled JavaScript under
 * `npm run bench`, TypeScript through tsx when the harness itself was started with tsx (the smoke test).
 */
import { existsSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const compiled = extname(here) === '.js';

/** The repository root (bench/ and dist/bench/ both live under it). */
export const REPO_ROOT = resolve(dirname(here), compiled ? '../..' : '..');

/** The folder with the example plugins (the echo plugin is the benchmark's job). */
export const PLUGINS_DIR = join(REPO_ROOT, 'plugins');

/** The default folder for result files. */
export const DEFAULT_RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');

export type AppName = 'all-in-one' | 'grpc-front' | 'worker';

/** The compiled entry point of one of our apps; throws with what to run when it has not been built. */
export function appScript(app: AppName): string {
  const script = join(REPO_ROOT, 'dist', 'apps', app, 'main.js');
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` first`);
  return script;
}

/** A script of bench/ (name without extension) and the Node flags it needs to run. */
export function benchScript(name: string): { script: string; execArgv: readonly string[] } {
  return {
    script: join(dirname(here), `${name}${extname(here)}`),
    execArgv: compiled ? [] : ['--import', 'tsx'],
  };
}
