#!/usr/bin/env bash
# Checks the staging stack's files: `docker compose config -q` on docker-compose.yml (and with the
# Sepolia overlay) when Docker Compose is installed (no Docker engine needed), else says it skipped; the Grafana dashboards
# must be JSON; `promtool check config` runs on the Prometheus config when promtool is installed,
# `nginx -t` on the load balancer's config when nginx is.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Sepolia overlay needs these set; placeholders suffice to check the merged file.
sepolia_env=(CHAOSCORE_RPC_URL=https://rpc.invalid CHAIN_ID=11155111 CHAOSCORE_KEYSTORE_FILE=/dev/null)

if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  docker compose -f docker-compose.yml config -q
  env "${sepolia_env[@]}" docker compose -f docker-compose.yml -f deploy/compose.sepolia.yml config -q
  echo "compose: docker-compose.yml and the Sepolia overlay are valid (docker compose $(docker compose version --short))"
elif command -v docker-compose >/dev/null 2>&1; then
  docker-compose -f docker-compose.yml config -q
  echo "compose: docker-compose.yml is valid ($(docker-compose version --short))"
else
  echo "compose: skipped docker compose config (Docker Compose is not installed here)"
fi

for dashboard in deploy/grafana/dashboards/*.json; do
  node -e 'JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"))' "$dashboard"
done
echo "compose: Grafana dashboards are valid JSON"

# The balancer's config under nginx -t when nginx is installed: the upstream host names exist
# only on the compose network, so they are replaced by 127.0.0.1 in a copy.
if command -v nginx >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  sed -E 's/server gateway-[0-9]+:/server 127.0.0.1:/; s/listen 8787;/listen 127.0.0.1:8787;/' \
    deploy/balancer/nginx.conf >"$tmp/default.conf"
  printf 'pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp { include %s/default.conf; }\n' \
    "$tmp" "$tmp" "$tmp" >"$tmp/nginx.conf"
  nginx -q -t -c "$tmp/nginx.conf" -p "$tmp" 2>"$tmp/out" || { cat "$tmp/out" >&2; exit 1; }
  echo "compose: deploy/balancer/nginx.conf is valid ($(nginx -v 2>&1 | sed 's/.*: //'))"
fi

if command -v promtool >/dev/null 2>&1; then
  promtool check config --syntax-only deploy/prometheus/prometheus.yml >/dev/null
  echo "compose: deploy/prometheus/prometheus.yml is valid (promtool)"
fi
