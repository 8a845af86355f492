#!/usr/bin/env bash
# The one test command: installs what the tests need, checks, builds and runs every test.
# It ends with a line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${CI:-}" ] || [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # strict: a dependency with install scripts that package.json's allowScripts does not name fails the install
  npm ci --no-audit --no-fund --strict-allow-scripts
fi
node scripts/check-sqlite.mjs
bash scripts/ensure-services.sh
npm run --silent gen:check
npm run --silent build
npm run --silent typecheck
npm run --silent lint

mkdir -p test-results
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@" || status=$?
node scripts/summarize-tests.mjs test-results/vitest.json || status=1
exit $status
