#!/bin/sh
# The Postgres primary of the compose stack: run once by the official image's entrypoint when it
# creates the data directory (mounted into /docker-entrypoint-initdb.d). Creates the role the
# streaming replica connects as, and a physical replication slot for it, so the primary keeps
# the WAL the replica has not received yet; pg_hba.conf lets that role connect for replication
# (a password over the compose network, scram-sha-256).
#
# An existing postgres-data volume (made before this file existed) is not initialized again:
# run these statements by hand (docs/deploy.md, "The read replica"), or `docker compose down -v`.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v user="${REPLICATION_USER:-replicator}" \
  -v password="${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD}" \
  -v slot="${REPLICATION_SLOT:-replica}" <<'SQL'
CREATE ROLE :"user" WITH REPLICATION LOGIN PASSWORD :'password';
SELECT pg_create_physical_replication_slot(:'slot');
SQL
echo "host replication ${REPLICATION_USER:-replicator} all scram-sha-256" >>"$PGDATA/pg_hba.conf"
echo "primary-init: role ${REPLICATION_USER:-replicator} and slot ${REPLICATION_SLOT:-replica} for the streaming replica"
