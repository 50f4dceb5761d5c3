#!/usr/bin/env bash
# Consumer test (issue 13): packs every package (`npm run pack`), installs the tarballs with
# `npm install` into a fresh project OUTSIDE the repository (no workspace links), then
#   (a) an ESM agent under plain node starts `chaoscore serve --no-chain --port 0` from the
#       installed CLI, registers through @chaoscore/sdk, records signed actions, verifies
#       their receipts and fetches the explorer bundle (scripts/consumer/agent.mjs);
#   (b) the installed CLI: `chaoscore --version`, `receipt verify` of a valid and a tampered
#       vector, `chaoscore demo`;
#   (c) typechecks a TypeScript consumer (scripts/consumer/consumer.ts) with moduleResolution
#       node16 and bundler;
#   (d) bundles @chaoscore/core's verifyReceipt for the browser with esbuild (size printed)
#       and verifies a receipt vector with it in headless Chromium (a tampered one is refused);
#   (e) publint --strict and @arethetypeswrong/cli (ESM-only profile) on each tarball;
#   (f) each adapter entry point without its peer fails with SDK_PEER_MISSING naming it; with
#       the peer installed it records a scripted run (scripts/consumer/adapters.mjs).
#
#   bash scripts/consumer-test.sh            # SKIP_PACK=1 reuses .pack/tarballs; KEEP=1 keeps the project
set -euo pipefail
# A new user's machine: the embedded defaults (PGlite in each data dir). CI exports DATABASE_URL
# for its Postgres run; inherited here, the installed `serve` would open the suite's database,
# whose log has another origin and key, and refuse it (INVALID_INPUT) — rightly.
unset DATABASE_URL
ROOT=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)
step() { printf '\n== consumer: %s (%ss)\n' "$*" "$(($(date +%s) - start))"; }

if [ "${SKIP_PACK:-}" != 1 ]; then
  step "npm run pack"
  (cd "$ROOT" && npm run --silent pack)
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/chaoscore-consumer-XXXXXX")
case "$WORK" in "$ROOT"/*) echo "the consumer project must be outside the repository" >&2; exit 1 ;; esac
cleanup() { if [ "${KEEP:-}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
mkdir -p "$WORK/tmp"
export TMPDIR="$WORK/tmp" CHAOSCORE_PASSWORD=consumer-test
cd "$WORK"
printf '{ "name": "chaoscore-consumer", "private": true, "type": "module" }\n' >package.json

step "npm install the tarballs into $WORK"
npm install --no-audit --no-fund --prefer-offline --loglevel=error "$ROOT"/.pack/tarballs/*.tgz
if [ -L node_modules/@chaoscore/core ]; then echo "@chaoscore/core is a link, not an install" >&2; exit 1; fi
CLI=node_modules/.bin/chaoscore

step "(a) an ESM agent under plain node, against the installed \`chaoscore serve\`"
cp "$ROOT/scripts/consumer/agent.mjs" .
node agent.mjs | tee agent.out
grep -q '^AGENT OK$' agent.out

step "(b) the installed CLI: --version, receipt verify, demo"
expected=$(node -p "require('$ROOT/packages/cli/package.json').version")
[ "$($CLI --version)" = "$expected" ] || { echo "chaoscore --version is not $expected" >&2; exit 1; }
V="$ROOT/vectors/receipts"
node -e 'const fs=require("fs");for(const n of ["valid-action","tampered-action-signature"])fs.writeFileSync(n+".json",JSON.stringify(require(process.argv[1]+"/"+n+".json").receipt))' "$V"
$CLI receipt verify --log-key "$(cat "$V/log-key.txt")" valid-action.json
if $CLI receipt verify --log-key "$(cat "$V/log-key.txt")" tampered-action-signature.json; then
  echo "a tampered receipt verified" >&2; exit 1
fi
$CLI demo >demo.out 2>&1 || { cat demo.out; exit 1; }
grep -q '^RECEIPT 0x' demo.out
tail -n 3 demo.out

step "(c) a TypeScript consumer typechecks with moduleResolution node16 and bundler"
cp "$ROOT/scripts/consumer/consumer.ts" .
for mr in node16 bundler; do
  module=$([ "$mr" = bundler ] && echo esnext || echo node16)
  cat >"tsconfig.$mr.json" <<JSON
{ "compilerOptions": { "strict": true, "noEmit": true, "target": "ES2022", "module": "$module",
  "moduleResolution": "$mr", "skipLibCheck": true, "types": ["node"],
  "typeRoots": ["$ROOT/node_modules/@types"] }, "files": ["consumer.ts"] }
JSON
  node "$ROOT/node_modules/typescript/bin/tsc" -p "tsconfig.$mr.json"
  echo "typechecked ($mr)"
done

step "(d) the browser verifier: @chaoscore/core's verifyReceipt bundled with esbuild, run in headless Chromium"
printf 'export { verifyReceipt } from "@chaoscore/core";\n' >verifier.mjs
"$ROOT/node_modules/.bin/esbuild" verifier.mjs --bundle --minify --format=esm --platform=browser \
  --outfile=verifier.bundle.js --log-level=warning
raw=$(wc -c <verifier.bundle.js); gz=$(gzip -9c verifier.bundle.js | wc -c)
echo "browser verifier bundle: $raw bytes minified, $gz bytes gzip (goal: ≤ 60 kB gzip; npm run bench -- cli)"
if grep -q 'WebAssembly' verifier.bundle.js; then
  echo "the browser bundle carries WebAssembly: core's browser field was not applied" >&2; exit 1
fi
cp "$ROOT/scripts/consumer/browser-verify.mjs" .
node browser-verify.mjs verifier.bundle.js "$V" "$ROOT/node_modules/playwright-core" | tee browser.out
grep -q '^BROWSER VERIFIER OK$' browser.out

step "(f) adapter entry points: without their peer a coded error names it; with it, a scripted run is recorded"
out=$(node --input-type=module -e 'import("@chaoscore/sdk/ai-sdk").then(() => console.log("loaded"), (e) => console.log(e.code, e.message))')
echo "$out"
case "$out" in SDK_PEER_MISSING*'npm install ai@'*) ;; *) echo "expected SDK_PEER_MISSING naming ai" >&2; exit 1 ;; esac
versions=$(node -p "const d=require('$ROOT/packages/sdk/package.json').devDependencies; ['ai','@langchain/core','@openai/agents','zod'].map(n=>n+'@'+d[n]).join(' ')")
npm install --no-audit --no-fund --prefer-offline --loglevel=error $versions
cp "$ROOT/scripts/consumer/adapters.mjs" .
node adapters.mjs | tee adapters.out
grep -q '^ADAPTERS OK$' adapters.out

step "(e) publint and arethetypeswrong (ESM-only profile) on each tarball"
for t in "$ROOT"/.pack/tarballs/*.tgz; do
  "$ROOT/node_modules/.bin/publint" --strict "$t" | tail -n 1
  "$ROOT/node_modules/.bin/attw" --profile esm-only --format table-flipped "$t" >attw.out 2>&1 ||
    { cat attw.out; exit 1; }
  echo "attw: $(basename "$t") ok"
done

step "consumer test passed"
