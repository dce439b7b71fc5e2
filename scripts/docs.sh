#!/usr/bin/env bash
# Regenerates what the README shows from the code as it is, so the two cannot drift apart:
#  1. the dashboard's browser tests (through scripts/test.sh: lint, types and the build first), which
#     leave their screenshots in test-artifacts/; the ones the README shows are copied to docs/screenshots/;
#  2. the benchmarks with --markdown, which rewrite the README's tables between its bench markers.
# Run: npm run docs. Takes a few minutes; the machine should be otherwise idle for fair figures.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test.sh test/e2e/dashboard
for shot in $(grep -o 'docs/screenshots/[A-Za-z0-9_-]*\.png' README.md | sort -u); do
  cp "test-artifacts/$(basename "$shot")" "$shot"
  echo "docs: $shot"
done
source scripts/bootstrap.sh
source scripts/services.sh
ensure_postgres
ensure_redis
ensure_chromium
node bench/run.ts --markdown
