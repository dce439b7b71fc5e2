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

echo "== lint"; npm run --silent lint
echo "== typecheck"; npm run --silent typecheck
echo "== web"; npm run --silent build:web -- --logLevel warn
echo "== jest"; npm test --silent -- "$@"
