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
# what `pnpm test` runs, step by step so that both vitest runs leave a JSON report: build, type-check,
# every test but the fault-injection suite, then a sample of that suite on its own
pnpm build
pnpm exec tsc -p tsconfig.json
json=(--reporter=default --reporter=json)
pnpm exec vitest run "${json[@]}" --outputFile.json=.tmp/vitest.json || status=$?
pnpm exec vitest run -c vitest.faults.config.ts "${json[@]}" --outputFile.json=.tmp/vitest-faults.json || status=$?
# one plain closing line, whatever the runner's own summary looks like
node -e '
  const fs = require("fs");
  let passed = 0, failed = 0;
  for (const f of [".tmp/vitest.json", ".tmp/vitest-faults.json"]) {
    if (!fs.existsSync(f)) continue;
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
  }
  console.log(`tests: ${passed} passed, ${failed} failed`);
' || true
exit "$status"
