#!/usr/bin/env node
/**
 * `npm run build:binary`: builds the single executables dist/bin/jobworkerp-all-in-one and dist/bin/jobworkerp-client
 * (Node single executable applications) for the platform and Node version that run this script.
 *
 * Each app is bundled from its TypeScript sources by esbuild into one ES module; the executable embeds it with the
 * files it reads at run time (see scripts/sea-launcher.cjs, its main script, which writes them to a private temp
 * folder and imports the app from there). Steps: esbuild → `node --experimental-sea-config` → copy of this `node`
 * → postject. Usage: node scripts/build-binary.mjs [all-in-one|client ...] (default: both).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** Files read at run time by bundled packages, found relative to their own module (see dirnameShim). */
const PACKAGE_DATA = ['node_modules/grpc-health-check/proto', 'node_modules/@grpc/reflection/build/proto'];
/** The Lua scripts of the Redis adapters: libs/queue/src/redis-lua.ts finds them below the bundle at this path. */
const LUA = 'libs/queue/src/redis/lua';

const TARGETS = {
  'all-in-one': {
    binary: 'jobworkerp-all-in-one',
    entry: 'apps/all-in-one/main.ts',
    // plugin-thread.ts starts plugin-thread-main.js found next to the module that imports it: next to the bundle
    threadEntry: 'libs/runners/src/plugin-thread-main.ts',
    data: ['migrations', LUA, ...PACKAGE_DATA],
    sqliteAddon: true,
  },
  client: {
    binary: 'jobworkerp-client',
    entry: 'apps/cli/main.ts',
    data: PACKAGE_DATA,
    sqliteAddon: false,
  },
};

/**
 * The bundle is an ES module, so the CommonJS packages inside it get a `require` (for built-in modules and the
 * optional native addons that are left out), and `__dirname`/`__filename` that point where their data files are
 * written: below the bundle, at the path they have in this repository.
 */
const BANNER = [
  "import { createRequire as __seaCreateRequire } from 'node:module';",
  "import { dirname as __seaDirname, join as __seaJoin } from 'node:path';",
  "import { fileURLToPath as __seaFileURLToPath } from 'node:url';",
  'const require = __seaCreateRequire(import.meta.url);',
  'const __seaRoot = __seaDirname(__seaFileURLToPath(import.meta.url));',
].join('\n');

/** Gives each bundled package module that uses `__dirname` or `__filename` its own, below the bundle's folder. */
const dirnameShim = {
  name: 'dirname-shim',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/].*\.c?js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!/\b__(dirname|filename)\b/.test(text)) return undefined;
      const file = JSON.stringify(relative(ROOT, args.path));
      return {
        contents: `var __filename = __seaJoin(__seaRoot, ${file}), __dirname = __seaDirname(__filename);\n${text}`,
        loader: 'js',
        resolveDir: dirname(args.path),
      };
    });
  },
};

async function bundle(entry, outfile) {
  await esbuild.build({
    entryPoints: [join(ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: BANNER },
    plugins: [dirnameShim],
    // optional native addons of ssh2 (under dockerode): it runs without them
    external: ['*.node', 'cpu-features'],
    logLevel: 'error',
    legalComments: 'none',
  });
}

async function filesUnder(dir) {
  const out = [];
  for (const entry of await readdir(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

async function buildTarget(name) {
  const target = TARGETS[name];
  if (target === undefined) throw new Error(`unknown target ${name}; use ${Object.keys(TARGETS).join(' or ')}`);
  const work = join(ROOT, 'dist/sea', name);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });

  /** [path in the private folder, source file, mode] */
  const files = [['package.json', join(work, 'package.json'), 0o600]];
  await writeFile(join(work, 'package.json'), '{ "type": "module" }\n');
  await bundle(target.entry, join(work, 'main.js'));
  files.push(['main.js', join(work, 'main.js'), 0o600]);
  if (target.threadEntry !== undefined) {
    await bundle(target.threadEntry, join(work, 'plugin-thread-main.js'));
    files.push(['plugin-thread-main.js', join(work, 'plugin-thread-main.js'), 0o600]);
  }
  if (target.sqliteAddon) {
    // loaded with process.dlopen by libs/storage (sqlite-addon.ts)
    files.push([
      'better_sqlite3.node',
      join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'),
      0o700,
    ]);
  }
  for (const dir of target.data) {
    for (const file of await filesUnder(dir)) files.push([file, join(ROOT, file), 0o600]);
  }

  const assets = {};
  const manifest = { main: 'main.js', files: [] };
  files.forEach(([path, source, mode], i) => {
    const asset = `file-${i}`;
    assets[asset] = source;
    manifest.files.push({ asset, path, mode });
  });
  await writeFile(join(work, 'manifest.json'), JSON.stringify(manifest));
  assets['manifest.json'] = join(work, 'manifest.json');
  const seaConfig = {
    main: join(ROOT, 'scripts/sea-launcher.cjs'),
    output: join(work, 'sea-prep.blob'),
    disableExperimentalSEAWarning: true,
    assets,
  };
  await writeFile(join(work, 'sea-config.json'), JSON.stringify(seaConfig, null, 2));
  await run(process.execPath, ['--experimental-sea-config', join(work, 'sea-config.json')]);

  const binary = join(ROOT, 'dist/bin', target.binary);
  await mkdir(dirname(binary), { recursive: true });
  await rm(binary, { force: true });
  await copyFile(process.execPath, binary);
  await run(process.execPath, [
    join(ROOT, 'node_modules/postject/dist/cli.js'),
    binary,
    'NODE_SEA_BLOB',
    seaConfig.output,
    '--sentinel-fuse',
    FUSE,
  ]);
  const size = (await stat(binary)).size;
  process.stdout.write(
    `${relative(ROOT, binary)}: ${(size / 1024 / 1024).toFixed(1)} MiB (${files.length} embedded files)\n`,
  );
}

const names = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(TARGETS);
try {
  for (const name of names) await buildTarget(name);
} catch (err) {
  process.stderr.write(`build-binary: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
