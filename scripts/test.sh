#!/usr/bin/env bash
# Quick start, command two (and what CI runs): installs what a fresh machine lacks, then lints, builds
# and runs every test against real nats-servers that the tests start on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-tools.sh
pnpm install --frozen-lockfile --reporter=silent
pnpm lint
mkdir -p .tmp
status=0
pnpm test --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json || status=$?
# one plain closing line, whatever the runner's own summary looks like
node -e '
  const r = JSON.parse(require("fs").readFileSync(".tmp/vitest.json", "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
' || true
exit "$status"
