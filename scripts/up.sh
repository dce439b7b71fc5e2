#!/usr/bin/env bash
# Brings the whole platform up on embedded defaults: bootstraps Node 24, the npm dependencies, the
# Temporal CLI and Terraform into .tools/, then runs scripts/up/main.ts, which starts PostgreSQL
# (unless DATABASE_URL), Redis (unless REDIS_URL), Temporal (unless TEMPORAL_ADDRESS), migrates,
# creates the first admin, starts a worker and the API, and prints the URL. Ctrl-C stops it all.
# State lives in .data/ (or OPSSIGHT_DATA_DIR); a second run reuses it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
exec node scripts/up/main.ts "$@"
