#!/bin/sh
# One-shot schema job for the Temporal server's PostgreSQL persistence (temporalio/admin-tools).
# First run: create both databases and install the schema. Every run: apply newer schema versions,
# so upgrading the server image and re-running `docker compose up` migrates in place.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
DB_PORT="${DB_PORT:-5432}"
SCHEMA=/etc/temporal/schema/postgresql/v12
tool() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "$DB_PORT" "$@"; }

until nc -z "$POSTGRES_SEEDS" "$DB_PORT"; do echo "waiting for PostgreSQL at $POSTGRES_SEEDS:$DB_PORT"; sleep 1; done

for pair in temporal:temporal temporal_visibility:visibility; do
  db="${pair%%:*}"; dir="${pair##*:}"
  # `create` fails when the database exists: only a new database gets the base schema.
  if tool --db "$db" create; then
    tool --db "$db" setup-schema -v 0.0
  else
    echo "database $db exists; updating its schema"
  fi
  tool --db "$db" update-schema -d "$SCHEMA/$dir/versioned"
done
echo "Temporal schema is up to date"
