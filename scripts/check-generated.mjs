// Fails when libs/proto/src is stale: regenerates into a temporary folder and compares file by file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const tmp = mkdtempSync(join(tmpdir(), 'jw-gen-'));
try {
  execFileSync('npx', ['buf', 'generate', '--output', tmp], { stdio: 'inherit' });
  execFileSync('node', ['scripts/gen-proto-index.mjs', tmp, join(tmp, 'libs/proto/src/gen')], { stdio: 'inherit' });
  const list = (root) => {
    const out = [];
    const walk = (d) => {
      for (const e of readdirSync(d)) {
        const p = join(d, e);
        if (statSync(p).isDirectory()) walk(p);
        else out.push(relative(root, p));
      }
    };
    walk(root);
    return out.sort();
  };
  const fresh = list(join(tmp, 'libs/proto/src/gen')).map((f) => ['gen/' + f, join(tmp, 'libs/proto/src/gen', f)]);
  fresh.push(
    ['runner-schemas.ts', join(tmp, 'runner-schemas.ts')],
    ['index.ts', join(tmp, 'index.ts')],
    ['descriptor-set.ts', join(tmp, 'descriptor-set.ts')],
  );
  const committed = new Set(list('libs/proto/src/gen').map((f) => 'gen/' + f));
  const stale = [];
  for (const [name, path] of fresh) {
    const mine = join('libs/proto/src', name);
    let current = null;
    try {
      current = readFileSync(mine, 'utf8');
    } catch {
      stale.push(`${mine} is missing`);
      continue;
    }
    if (current !== readFileSync(path, 'utf8')) stale.push(`${mine} differs from proto/`);
    committed.delete(name);
  }
  for (const extra of committed) stale.push(`libs/proto/src/${extra} has no .proto source`);
  if (stale.length > 0) {
    console.error(`Generated code is stale; run \`npm run gen\` and commit:\n  ${stale.join('\n  ')}`);
    process.exit(1);
  }
  console.log('generated code is up to date');
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
