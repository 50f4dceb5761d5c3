#!/usr/bin/env bash
# The OpenAPI document is the contract: schemathesis (pinned in python/pyproject.toml's
# test extra) runs every phase (examples, coverage, fuzzing, stateful) and every
# check against a real `chaoscore serve` (PGlite in a temporary data dir, no chain),
# seeded by `chaoscore demo --gateway` (agents, actions, outcomes, a studio with
# members, tasks and a proposal), with the admin key, a fixed seed and nothing
# excluded. Exits non-zero on any failure.
#   bash scripts/schemathesis.sh            # SCHEMATHESIS_MAX_EXAMPLES (default 10), SCHEMATHESIS_SEED
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-10}"
seed="${SCHEMATHESIS_SEED:-15}"

# ---- schemathesis, at the version python/pyproject.toml pins (in the Python test venv) ------------
pin=$(grep -o '"schemathesis==[^"]*"' python/pyproject.toml | tr -d '"')
st="${SCHEMATHESIS_BIN:-$root/python/.venv/bin/schemathesis}"
if [ ! -x "$st" ] || [ "$("$st" --version | awk '{print $NF}')" != "${pin#schemathesis==}" ]; then
  [ -x "$root/python/.venv/bin/python" ] || python3 -m venv "$root/python/.venv"
  "$root/python/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root/python[test]"
  st="$root/python/.venv/bin/schemathesis"
fi

# ---- a real gateway on a fresh data dir ----------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/chaoscore-schemathesis-XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  if [ -n "${SCHEMATHESIS_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export CHAOSCORE_PASSWORD="schemathesis"
env -u DATABASE_URL node packages/cli/bin/chaoscore.js --data-dir "$work/data" serve \
  --port 0 --no-chain --log-level "${SCHEMATHESIS_LOG_LEVEL:-error}" >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
for _ in $(seq 1 300); do
  grep -q '^LISTENING ' "$work/serve.out" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.err" >&2; exit 1; }
  sleep 0.2
done
url=$(awk '/^LISTENING /{print $2}' "$work/serve.out")
admin=$(awk '/^ADMIN_KEY /{print $2}' "$work/serve.out")
[ -n "$url" ] && [ -n "$admin" ] || { echo "serve did not start" >&2; cat "$work/serve.err" >&2; exit 1; }
echo "gateway at $url"

# ---- seed: the demo's flow over HTTP --------------------------------------------------------------
node packages/cli/bin/chaoscore.js --data-dir "$work/demo" demo --gateway "$url" --api-key "$admin" \
  --anchor-timeout 0 >"$work/demo.out" 2>&1 || {
  cat "$work/demo.out" >&2
  [ "${SCHEMATHESIS_ALLOW_PARTIAL_SEED:-}" = 1 ] || exit 1
}
echo "seeded: $(grep -c '' "$work/demo.out") lines of demo output"

# ---- schemathesis: all phases, all checks, nothing excluded ---------------------------------------
"$st" --config-file scripts/schemathesis.toml run "$url/openapi.json" \
  --header "Authorization: Bearer $admin" \
  --checks all \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "$max_examples" \
  --seed "$seed" \
  --workers 1 \
  --request-timeout 30 \
  --suppress-health-check too_slow,filter_too_much \
  --report junit --report-dir "$work/report" \
  "$@"
