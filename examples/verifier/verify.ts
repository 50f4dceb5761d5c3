/**
 * A third-party verifier: it trusts nothing the gateway says about itself.
 * Given the log's verifier key (obtained out of band), it
 *   1. fetches a receipt and verifies it offline (signatures, inclusion, the
 *      signed checkpoint, the outcome and the attestation binding);
 *   2. keeps the last checkpoint it saw (a file) and checks the log only grew:
 *      a consistency proof from the old tree to the new one (a monitor);
 *   3. with --rpc, checks the receipt's anchor on chain: the CheckpointAnchor
 *      contract it trusts (--contract, obtained out of band like the key; never
 *      the one the receipt names) holds the checkpoint's size and root.
 *
 *   npx tsx examples/verifier/verify.ts --gateway URL --log-key KEY --action 0x… [--rpc URL --contract 0x…]
 */
import { readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { verifyReceiptAnchor } from "@chaoscore/chain";
import { openCheckpoint, verifyConsistency, verifyReceipt } from "@chaoscore/core";

const { values } = parseArgs({
  options: {
    gateway: { type: "string", default: process.env.CHAOSCORE_GATEWAY ?? "http://127.0.0.1:8787" },
    "log-key": { type: "string" },
    action: { type: "string" },
    state: { type: "string", default: "verifier-state.json" },
    rpc: { type: "string" },
    contract: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
const logKey = values["log-key"];
if (values.help || logKey === undefined || values.action === undefined) {
  console.log(
    "usage: tsx examples/verifier/verify.ts --gateway URL --log-key KEY --action 0x… [--state file] [--rpc URL --contract 0x…]",
  );
  process.exit(values.help ? 0 : 2);
}
const get = async (path: string) => {
  const r = await fetch(`${values.gateway}${path}`);
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r;
};

// 1. the receipt, offline
const receipt = await (await get(`/v1/actions/${values.action}/receipt`)).json();
const v = verifyReceipt(receipt, logKey);
console.log(
  `receipt verified: action ${v.actionId.slice(0, 10)}… by ${v.agent}, leaf ${v.leafIndex} of ${v.treeSize}, attestation ${v.attestation}`,
);

// 2. the log only grows: the checkpoint now vs the one seen last time (tlog-tiles checkpoint)
const note = await (await get("/log/checkpoint")).text();
const now = openCheckpoint(note, logKey);
let seen: { size: number; root: string } | undefined;
try {
  seen = JSON.parse(await readFile(values.state, "utf8"));
} catch {
  seen = undefined;
}
if (seen !== undefined && seen.size > 0 && seen.size <= now.size) {
  const proof = (await (
    await get(`/v1/log/proofs/consistency?from=${seen.size}&to=${now.size}`)
  ).json()) as { hashes: string[] };
  verifyConsistency(
    seen.size,
    now.size,
    proof.hashes.map((h: string) => Uint8Array.from(Buffer.from(h, "base64"))),
    Uint8Array.from(Buffer.from(seen.root, "base64")),
    now.rootHash,
  );
  console.log(
    `log consistent: the tree of ${seen.size} leaves is a prefix of the tree of ${now.size}`,
  );
} else if (seen !== undefined && seen.size > now.size) {
  console.error(`the log shrank: ${seen.size} → ${now.size}`);
  process.exit(1);
} else {
  console.log(`first checkpoint seen: ${now.size} leaves (kept in ${values.state})`);
}
await writeFile(
  values.state,
  JSON.stringify({ size: now.size, root: Buffer.from(now.rootHash).toString("base64") }),
);

// 3. the anchor on chain
if (values.rpc !== undefined) {
  if (values.contract === undefined) {
    console.error("--rpc needs --contract 0x… (the CheckpointAnchor contract you trust)");
    process.exit(2);
  }
  // The chain id is the one the RPC serves: the contract is trusted on that chain only.
  const rpcChain = (await (
    await fetch(values.rpc, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    })
  ).json()) as { result: string };
  const anchored = await verifyReceiptAnchor(receipt, {
    rpcUrl: values.rpc,
    trusted: [
      { chainId: BigInt(rpcChain.result).toString(), contract: values.contract as `0x${string}` },
    ],
    trustedLogKey: logKey,
  });
  console.log(
    anchored === null
      ? "the receipt carries no anchor yet"
      : `anchor verified on chain ${anchored.chainId}: checkpoint ${anchored.index} in block ${anchored.blockNumber}`,
  );
}
console.log("OK");
