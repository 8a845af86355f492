'use strict';
/**
 * The main script of a single executable (Node SEA; built by scripts/build-binary.mjs).
 *
 * A Node 20 SEA main script must be one CommonJS file that can require built-in modules only. The app is an ES
 * module bundle with files it reads at run time, so this launcher writes every embedded file (listed in the
 * `manifest.json` asset) into a private folder made for this process (mode 0700 under the system temp folder,
 * TMPDIR), then imports the app from there with Node's ordinary ES module loader. The folder has the layout the
 * app finds its files in when it runs from dist/: the plugin thread entry next to the app, migrations/ and the
 * data files of bundled packages (node_modules/...) below it, and better-sqlite3's native addon, which the app
 * loads with process.dlopen. The folder is removed when the process exits.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const sea = require('node:sea');
const url = require('node:url');
const vm = require('node:vm');

/** @typedef {{ asset: string, path: string, mode: number }} EmbeddedFile */

function fail(message) {
  process.stderr.write(`${path.basename(process.execPath)}: ${message}\n`);
  process.exit(1);
}

/** @returns {string} the private folder holding the embedded files */
function extract() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jobworkerp-'));
  process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  /** @type {{ main: string, files: EmbeddedFile[] }} */
  const manifest = JSON.parse(sea.getAsset('manifest.json', 'utf8'));
  for (const file of manifest.files) {
    const target = path.join(root, file.path);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    fs.writeFileSync(target, new Uint8Array(sea.getRawAsset(file.asset)), { mode: file.mode });
  }
  return path.join(root, manifest.main);
}

/**
 * import() of a file URL. The SEA main script has no module loader of its own for import(); a script compiled
 * with USE_MAIN_CONTEXT_DEFAULT_LOADER gets the process's default one. Node marks that option experimental and
 * says so on stderr once: that notice is about this launcher, not something the user can act on, so it is dropped.
 */
function importFile(file) {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (warning, ...rest) {
    if (String(warning).includes('USE_MAIN_CONTEXT_DEFAULT_LOADER')) return;
    return emitWarning.call(process, warning, ...rest);
  };
  const load = new vm.Script('(href) => import(href)', {
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  }).runInThisContext();
  return load(url.pathToFileURL(file).href);
}

let main;
try {
  main = extract();
} catch (err) {
  fail(`cannot write the embedded files to ${os.tmpdir()} (set TMPDIR to a writable folder): ${err.message}`);
}
importFile(main).catch((err) => fail(`cannot start: ${err && err.stack ? err.stack : String(err)}`));
