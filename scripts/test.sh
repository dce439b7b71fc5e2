#!/usr/bin/env bash
# The whole suite: lint, type-check, jest (unit + integration against real peers).
# Peers the machine does not already run are started here and stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
source scripts/services.sh
ensure_postgres
ensure_redis
ensure_chromium
ensure_sshd
ensure_alertmanager
ensure_prometheus
ensure_slapd
ensure_podman
ensure_moto

# OPSSIGHT_TEST_JEST_ONLY=1 skips the static checks and the dashboard build: only the suite's own test of
# this script in a mode-700 copy sets it (the outer run has checked the same files); CI never does.
if [ -z "${OPSSIGHT_TEST_JEST_ONLY:-}" ]; then
  echo "== lint"; npm run --silent lint
  echo "== typecheck"; npm run --silent typecheck
  echo "== web"; npm run --silent build:web -- --logLevel warn
fi
echo "== jest"; npm test --silent -- "$@"
