#!/bin/bash
# The streaming replica of the compose stack (the `postgres-replica` service), on the official
# postgres image: on the first start (no PG_VERSION in PGDATA) it copies the primary with
# `pg_basebackup -R` (which writes standby.signal and primary_conninfo, so the server starts as a
# hot standby streaming from the primary through the replication slot), then hands over to the
# image's own entrypoint, which sees an existing cluster and just starts the server. Later
# starts skip the copy. The gateways read from it (`serve --read-database-url`).
set -euo pipefail
: "${PGDATA:=/var/lib/postgresql/data}"
: "${PRIMARY_HOST:=postgres}" "${PRIMARY_PORT:=5432}"
: "${REPLICATION_USER:=replicator}" "${REPLICATION_SLOT:=replica}"
: "${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD}"

# The image starts as root and runs the server as `postgres` (gosu); started as another user, as is.
as_postgres=()
if [ "$(id -u)" = 0 ]; then as_postgres=(gosu postgres); fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PGDATA"; fi
  chmod 0700 "$PGDATA"
  export PGPASSWORD="$REPLICATION_PASSWORD"
  # The primary may still be initializing (its first start runs initdb and the init scripts
  # on a socket-only server): retry until the copy succeeds, for up to 2 minutes.
  for attempt in $(seq 1 60); do
    if "${as_postgres[@]}" pg_basebackup --host="$PRIMARY_HOST" --port="$PRIMARY_PORT" \
      --username="$REPLICATION_USER" --pgdata="$PGDATA" --write-recovery-conf \
      --wal-method=stream --slot="$REPLICATION_SLOT" --checkpoint=fast --no-password; then
      echo "replica: copied the primary $PRIMARY_HOST:$PRIMARY_PORT (attempt $attempt); starting as a hot standby"
      break
    fi
    if [ "$attempt" = 60 ]; then
      echo "replica: pg_basebackup from $PRIMARY_HOST:$PRIMARY_PORT failed 60 times" >&2
      exit 1
    fi
    find "$PGDATA" -mindepth 1 -delete
    sleep 2
  done
  unset PGPASSWORD
fi
exec docker-entrypoint.sh "$@"
