#!/bin/sh
# One-shot setup of the compose stack (the `init` service), idempotent:
# 1. `chaoscore init` when /data has no config.json: log key, a first agent key, the migrated
#    database (every later start migrates again: migrations run whenever the database opens);
# 2. a local chain: /data/chain.json points the CLI at anvil (signing with anvil's first dev
#    account, a PUBLIC test key) — skipped when CHAOSCORE_RPC_URL names another chain;
# 3. `chaoscore chain deploy`: the contracts, unless /data/deployments/<chainId>.json holds
#    contracts whose code is on chain.
set -eu
cc="node ${CHAOSCORE_CLI:-/app/packages/cli/bin/chaoscore.js}"
home="${CHAOSCORE_HOME:-/data}"
chain_id="${CHAIN_ID:-31337}"

if [ -f "$home/config.json" ]; then
  echo "init: $home is initialized; migrating the database"
  $cc log status
else
  echo "init: chaoscore init (chain $chain_id)"
  $cc init --chain-id "$chain_id"
fi

if [ -z "${CHAOSCORE_RPC_URL:-}" ]; then
  rpc="${STAGING_RPC_URL:-http://anvil:8545}"
  port="${rpc##*:}"
  port="${port%%/*}"
  cat > "$home/chain.json" <<JSON
{
  "format": "chaoscore.chain/v1",
  "rpcUrl": "$rpc",
  "chainId": "$chain_id",
  "pid": null,
  "port": $port,
  "stateFile": "/chain/anvil-state.json",
  "startedAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
JSON
  echo "init: chain.json → $rpc"
fi

$cc chain deploy
echo "init: done"
