/**
 * Writes the trust-policy test vectors in vectors/trust-policy/ (see
 * docs/spec/trust-policy.md §5): policies that parse and policies that do
 * not, and receipts whose checkpoints are cosigned by fixed witnesses, that
 * pass or fail the quorum of a policy. The receipts are built from core's
 * primitives in the current receipt format, so that a change of the entry or
 * receipt format only needs this script run again.
 * Deterministic: fixed keys and timestamps, RFC 6979 and Ed25519 signatures.
 *
 *   npm run vectors:trust-policy
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  addSignatureLines,
  bytesToBase64,
  cosignCheckpoint,
  deriveShardKey,
  encodeEntry,
  entryId,
  generateNoteKey,
  generateWitnessKey,
  inclusionProofPlan,
  isChaosCoreError,
  keccak256Hex,
  leafHash,
  parseCheckpoint,
  parseTrustPolicy,
  RECEIPT_FORMAT,
  type Receipt,
  resolveProof,
  rootFromLeafHashes,
  signAction,
  signCheckpoint,
  signNote,
  signOutcome,
  signShardCertificate,
  TRUST_POLICY_FORMAT,
  verifyReceipt,
  verifyReceiptWithPolicy,
} from "@chaoscore/core";

const ROOT = join(import.meta.dirname, "..");
const OUT = join(ROOT, "vectors", "trust-policy");
const T0 = 1_800_000_100; // cosignature time (2027-01-15)

const CHAIN_ID = 31337n;
const ORIGIN = "vectors.chaoscore.dev/log/trust-policy";
const LOG = generateNoteKey(ORIGIN, new Uint8Array(32).fill(0x0c));
const logKey = LOG.verifierKey;

/**
 * Receipts built with core's primitives only (no engine): four signed entries
 * (three actions, an outcome of the second) in a tree, a checkpoint of it
 * signed by the vectors' log key, inclusion proofs from the tree.
 */
function buildReceipts(): { simple: Receipt; withOutcome: Receipt } {
  const agent = new Uint8Array(32).fill(0x11);
  const evaluator = new Uint8Array(32).fill(0x22);
  const at = { chainId: CHAIN_ID, timestamp: 1_800_000_000, ttlSeconds: 3600 };
  const a1 = signAction({
    ...at,
    privateKey: agent,
    actionType: "governance.simulate",
    nonce: 1,
    payload: { proposal: 7 },
  });
  const a2 = signAction({
    ...at,
    privateKey: agent,
    actionType: "governance.vote",
    nonce: 2,
    payload: { vote: "for" },
  });
  const a3 = signAction({ ...at, privateKey: agent, actionType: "tool.call", nonce: 3 });
  const o2 = signOutcome({
    ...at,
    privateKey: evaluator,
    action: entryId(a2.entry),
    status: "success",
    nonce: 1,
    result: { passed: true },
  });
  const entries = [a1.entry, a2.entry, a3.entry, o2.entry];
  const leaves = entries.map((e) => leafHash(encodeEntry(e)));
  const node = (level: number, index: number) =>
    rootFromLeafHashes(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level));
  const proof = (i: number) =>
    resolveProof(inclusionProofPlan(i, leaves.length), node).map((h) => bytesToBase64(h));
  const checkpoint = signCheckpoint(
    { origin: ORIGIN, size: leaves.length, rootHash: rootFromLeafHashes(leaves), extensions: [] },
    LOG.signerKey,
  );
  const entryProof = (i: number) => ({
    entry: entries[i],
    leafIndex: i,
    inclusionProof: proof(i),
    keyRotations: [],
  });
  const receipt = (action: number, outcome: number | null, payload: unknown) =>
    ({
      format: RECEIPT_FORMAT,
      action: entryProof(action),
      outcome: outcome === null ? null : entryProof(outcome),
      payload,
      checkpoint,
      anchor: null,
      attestation: null,
    }) as unknown as Receipt;
  return { simple: receipt(0, null, a1.payload), withOutcome: receipt(1, 3, a2.payload) };
}

const witness = (i: number) =>
  generateWitnessKey(`witness${i}.vectors.chaoscore.dev`, new Uint8Array(32).fill(0x70 + i));
const [w1, w2, w3, w4] = [witness(1), witness(2), witness(3), witness(4)] as const;
const CONTRACT = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const OTHER_CONTRACT = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512";

const policy = (extra: Record<string, unknown> = {}) => ({
  format: TRUST_POLICY_FORMAT,
  log: { key: logKey },
  witnesses: { keys: [w1.verifierKey, w2.verifierKey, w3.verifierKey], quorum: 2 },
  ...extra,
});

function cosign(receipt: Receipt, lines: string[]): Receipt {
  return { ...receipt, checkpoint: addSignatureLines(receipt.checkpoint, lines) };
}
const line = (r: Receipt, w: { signerKey: string }, t = T0) =>
  cosignCheckpoint(r.checkpoint, w.signerKey, t);

function main() {
  mkdirSync(OUT, { recursive: true });
  for (const f of readdirSync(OUT)) if (f.endsWith(".json")) rmSync(join(OUT, f));
  const write = (name: string, body: Record<string, unknown>) =>
    writeFileSync(join(OUT, `${name}.json`), `${JSON.stringify(body, null, 2)}\n`);
  writeFileSync(
    join(OUT, "witnesses.json"),
    `${JSON.stringify(
      {
        description:
          "the witnesses of these vectors (signer keys only to regenerate them; never publish a signer key)",
        logKey,
        witnesses: [w1, w2, w3, w4],
      },
      null,
      2,
    )}\n`,
  );

  // ---- policies ---------------------------------------------------------------------------
  const goodPolicy = (name: string, description: string, value: unknown) =>
    write(`policy-valid-${name}`, {
      description,
      policy: value,
      expected: parseTrustPolicy(value),
    });
  const badPolicy = (name: string, description: string, value: unknown, text?: string) => {
    let code = "none";
    try {
      parseTrustPolicy(text ?? value);
    } catch (e) {
      code = isChaosCoreError(e) ? e.code : "not coded";
    }
    if (code === "none") throw new Error(`policy ${name} parses`);
    write(
      `policy-invalid-${name}`,
      text === undefined
        ? { description, policy: value, expectedError: code }
        : { description, policyText: text, expectedError: code },
    );
  };
  goodPolicy("log-only", "only the log key: no witnesses (quorum 0), no anchors", {
    format: TRUST_POLICY_FORMAT,
    log: { key: logKey },
  });
  goodPolicy("quorum-2-of-3", "three witnesses, two must cosign", policy());
  goodPolicy(
    "anchors",
    "witnesses and a trusted anchor contract, given in mixed case (returned in lowercase)",
    policy({
      anchors: [{ chainId: "31337", contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" }],
    }),
  );
  goodPolicy(
    "attestation",
    "an attestation member (docs/spec/attestation.md §10): accepted platforms, maximum age, pinned Nitro PCR0, accepted TDX TCB statuses, mock roots",
    policy({
      attestation: {
        platforms: ["aws-nitro", "intel-tdx", "mock-tee"],
        maxAgeSeconds: 600,
        nitro: {
          trustedRoots: ["641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"],
          allowedPcrs: { "0": [`0x${"ab".repeat(48)}`] },
        },
        tdx: { allowedTcbStatuses: ["UpToDate"], allowDebug: false, requireCollateral: true },
        mock: { trustedRoots: [`0x${"01".repeat(32)}`] },
      },
    }),
  );
  badPolicy("not-json", "not JSON", undefined, '{"format": ');
  badPolicy("format", "another format tag", { ...policy(), format: "chaoscore.trust-policy/v2" });
  badPolicy("no-log", "no log key", { format: TRUST_POLICY_FORMAT, witnesses: policy().witnesses });
  badPolicy("empty-log-key", "an empty log key", { ...policy(), log: { key: "" } });
  badPolicy("log-key-garbage", "a log key that is not a verifier key", {
    ...policy(),
    log: { key: "vectors.chaoscore.dev/log/receipts+00000000+AAAA" },
  });
  badPolicy("witness-key-is-log-key", "an Ed25519 note key (0x01) given as witness key", {
    ...policy(),
    witnesses: { keys: [logKey], quorum: 1 },
  });
  badPolicy("duplicate-witness", "one witness listed twice", {
    ...policy(),
    witnesses: { keys: [w1.verifierKey, w2.verifierKey, w1.verifierKey], quorum: 2 },
  });
  badPolicy("quorum-too-high", "a quorum of 3 with two witness keys", {
    ...policy(),
    witnesses: { keys: [w1.verifierKey, w2.verifierKey], quorum: 3 },
  });
  badPolicy("quorum-missing", "witness keys without a quorum", {
    ...policy(),
    witnesses: { keys: [w1.verifierKey] },
  });
  badPolicy(
    "attestation-unknown-member",
    "an attestation member with a member of no version (trustedRoots belongs in nitro, tdx or mock)",
    policy({ attestation: { trustedRoots: [`0x${"01".repeat(32)}`] } }),
  );
  badPolicy(
    "attestation-tcb-status",
    "an attestation member accepting a TCB status Intel does not define",
    policy({ attestation: { tdx: { allowedTcbStatuses: ["Fine"] } } }),
  );
  badPolicy("unknown-field", "an unknown top-level field", { ...policy(), trustEverything: true });
  badPolicy("bad-contract", "an anchor contract that is not an address", {
    ...policy(),
    anchors: [{ chainId: "31337", contract: "0x1234" }],
  });
  badPolicy("duplicate-anchor", "one anchor contract listed twice", {
    ...policy(),
    anchors: [
      { chainId: "31337", contract: CONTRACT },
      { chainId: "31337", contract: CONTRACT.toUpperCase().replace("0X", "0x") },
    ],
  });

  // ---- receipts ---------------------------------------------------------------------------
  const { simple: base, withOutcome } = buildReceipts();
  for (const r of [base, withOutcome]) verifyReceipt(r, logKey); // the construction is sound
  const origin = parseCheckpoint(
    base.checkpoint.slice(0, base.checkpoint.indexOf("\n\n") + 1),
  ).origin;
  const anchored: Receipt = {
    ...base,
    anchor: {
      chainId: "31337",
      contract: CONTRACT,
      logId: keccak256Hex(origin),
      index: 0,
      txHash: `0x${"ab".repeat(32)}`,
      blockNumber: 7,
    },
  };
  const good = (name: string, description: string, receipt: Receipt, p: unknown) =>
    write(`receipt-valid-${name}`, {
      description,
      receipt,
      policy: p,
      expected: verifyReceiptWithPolicy(receipt, p),
    });
  const bad = (name: string, description: string, receipt: Receipt, p: unknown) => {
    let code = "none";
    try {
      verifyReceiptWithPolicy(receipt, p);
    } catch (e) {
      code = isChaosCoreError(e) ? e.code : "not coded";
    }
    if (code === "none") throw new Error(`receipt ${name} verifies`);
    write(`receipt-invalid-${name}`, { description, receipt, policy: p, expectedError: code });
  };
  const two = cosign(base, [line(base, w1), line(base, w2, T0 + 1)]);
  good("quorum-2-of-3", "cosigned by witnesses 1 and 2 of 3, quorum 2", two, policy());
  good(
    "quorum-3-of-3",
    "cosigned by all three witnesses (and one the policy does not name), quorum 2",
    cosign(base, [line(base, w3), line(base, w4), line(base, w1), line(base, w2)]),
    policy(),
  );
  good("log-only", "no cosignatures, a policy with no witnesses", base, {
    format: TRUST_POLICY_FORMAT,
    log: { key: logKey },
  });
  good(
    "action-outcome",
    "an action with its outcome, cosigned by witnesses 2 and 3",
    cosign(withOutcome, [line(withOutcome, w2), line(withOutcome, w3)]),
    policy(),
  );
  const anchoredTwo = cosign(anchored, [line(anchored, w1), line(anchored, w3)]);
  good(
    "trusted-anchor",
    "an anchor on the contract the policy trusts (checked offline: chain and contract)",
    anchoredTwo,
    policy({ anchors: [{ chainId: "31337", contract: CONTRACT }] }),
  );
  bad("no-cosignatures", "no cosignatures, quorum 2", base, policy());
  bad(
    "one-of-two",
    "cosigned by witness 1 only, quorum 2",
    cosign(base, [line(base, w1)]),
    policy(),
  );
  bad(
    "same-witness-twice",
    "witness 1 cosigned twice (two timestamps): one witness, quorum 2",
    cosign(base, [line(base, w1), line(base, w1, T0 + 60)]),
    policy(),
  );
  bad(
    "unknown-witness",
    "cosigned by witness 1 and by witness 4, which the policy does not name",
    cosign(base, [line(base, w1), line(base, w4)]),
    policy(),
  );
  const flipped = (() => {
    const l = line(base, w2);
    const b64 = l.slice(l.lastIndexOf(" ") + 1, -1);
    const bytes = Buffer.from(b64, "base64");
    bytes[40] = (bytes[40] as number) ^ 1;
    return `${l.slice(0, l.lastIndexOf(" ") + 1)}${bytes.toString("base64")}\n`;
  })();
  bad(
    "bad-cosignature",
    "witness 2's cosignature has one bit flipped: only witness 1 counts",
    cosign(base, [line(base, w1), flipped]),
    policy(),
  );
  const restamped = (() => {
    const l = line(base, w2);
    const bytes = Buffer.from(l.slice(l.lastIndexOf(" ") + 1, -1), "base64");
    bytes[11] = (bytes[11] as number) ^ 1; // last byte of the timestamp
    return `${l.slice(0, l.lastIndexOf(" ") + 1)}${bytes.toString("base64")}\n`;
  })();
  bad(
    "changed-timestamp",
    "witness 2's cosignature with its timestamp changed: it no longer verifies",
    cosign(base, [line(base, w1), restamped]),
    policy(),
  );
  const otherCheckpoint = base.checkpoint.replace(/\n[0-9]+\n/, "\n3\n");
  bad(
    "cosignature-of-other-checkpoint",
    "witness 2's cosignature of another checkpoint (size 3 instead of 4) pasted in",
    cosign(base, [line(base, w1), line({ ...base, checkpoint: otherCheckpoint }, w2)]),
    policy(),
  );
  bad(
    "wrong-log-key",
    "a quorum of cosignatures, but the policy names another log's key",
    two,
    policy({
      log: {
        key: generateNoteKey("vectors.chaoscore.dev/log/receipts", new Uint8Array(32).fill(8))
          .verifierKey,
      },
    }),
  );
  bad(
    "untrusted-anchor",
    "an anchor on a contract the policy does not trust",
    anchoredTwo,
    policy({ anchors: [{ chainId: "31337", contract: OTHER_CONTRACT }] }),
  );
  bad(
    "tampered-leaf-index",
    "a quorum of cosignatures does not save a receipt whose proof fails",
    { ...two, action: { ...two.action, leafIndex: two.action.leafIndex + 1 } },
    policy(),
  );
  // ---- shards (receipt.md §7): the policy pins the family key; witnesses cosign the shard's checkpoint
  const shardOrigin = `${ORIGIN}/s1`;
  const shardKey = deriveShardKey(LOG.signerKey, shardOrigin);
  const body = base.checkpoint.slice(0, base.checkpoint.indexOf("\n\n") + 1);
  const ofShard: Receipt = {
    ...base,
    checkpoint: signNote(body.replace(/^[^\n]+/, shardOrigin), shardKey.signerKey),
    shard: signShardCertificate(LOG.signerKey, {
      familyOrigin: ORIGIN,
      shard: 1,
      shardOrigin,
      shardVerifierKey: shardKey.verifierKey,
    }),
  };
  const shardTwo = cosign(ofShard, [line(ofShard, w1), line(ofShard, w3)]);
  good(
    "shard",
    "a receipt of shard 1 of the family the policy pins: its certificate verifies under the family key, witnesses 1 and 3 cosigned the shard's checkpoint",
    shardTwo,
    policy(),
  );
  bad(
    "shard-cosignatures-of-family-checkpoint",
    "a receipt of shard 1 carrying the cosignatures of the family's own (shard 0) checkpoint: cosignatures are per checkpoint",
    cosign(ofShard, [line(base, w1), line(base, w3)]),
    policy(),
  );
  const { shard: _omit, ...shardUncertified } = shardTwo;
  bad(
    "shard-uncertified",
    "a cosigned receipt of shard 1 without its shard certificate",
    shardUncertified,
    policy(),
  );
  bad(
    "shard-other-family",
    "a cosigned receipt of shard 1, but the policy pins another log family's key",
    shardTwo,
    policy({
      log: {
        key: generateNoteKey("vectors.chaoscore.dev/log/other", new Uint8Array(32).fill(8))
          .verifierKey,
      },
    }),
  );
  bad("bad-policy", "a policy that does not parse fails before the receipt is looked at", two, {
    ...policy(),
    witnesses: { keys: [w1.verifierKey], quorum: 2 },
  });
  console.log(`wrote ${readdirSync(OUT).length} files to ${OUT}`);
}

main();
