/**
 * Writes the receipt test vectors in vectors/receipts/ (see docs/spec/receipt.md §6).
 * Deterministic: fixed keys, a fixed clock, RFC 6979 and Ed25519 signatures,
 * so running it again rewrites the same bytes.
 *
 *   npm run vectors:receipts
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  agentBoundNonce,
  deploymentAddress,
  generateAttestationKey,
  generateNoteKey,
  hexToBytes,
  privateKeyToAddress,
  type Receipt,
  signAction,
  signNote,
  signOutcome,
  signRegistration,
  signTypedMessage,
  verifyReceipt,
} from "@chaoscore/core";
import { createEngine, openDatabase } from "@chaoscore/engine";
import { defaultSandbox, executeAttested, MockTeeProvider } from "@chaoscore/sandbox";
import { writeShardReceiptVectors } from "./receipt-vectors-shard.js";
import { writeTeeReceiptVectors } from "./receipt-vectors-tee.js";

const OUT = join(import.meta.dirname, "..", "vectors", "receipts");
const CHAIN_ID = 31337n;
/** The vectors' deployment (EIP-712 verifyingContract), and another one on the same chain. */
const DOMAIN = { chainId: CHAIN_ID, verifyingContract: deploymentAddress("receipt vectors") };
const OTHER_DEPLOYMENT = deploymentAddress("another deployment");
const T0 = 1_800_000_000; // fixed clock (2027-01-15)
const key = (byte: number) => hexToBytes(`0x${byte.toString(16).padStart(2, "0").repeat(32)}`);
const card = (name: string) => ({
  format: "chaoscore.agent-card/v1" as const,
  name,
  description: `${name} (test vector agent)`,
  capabilities: ["governance"],
  framework: "vectors",
  version: "1.0.0",
  endpoints: [],
  codeMeasurement: null,
  owner: null,
});

async function main() {
  const origin = "vectors.chaoscore.dev/log/receipts";
  const { signerKey, verifierKey } = generateNoteKey(origin, new Uint8Array(32).fill(7));
  const db = await openDatabase({ databaseUrl: null, dataDir: ":memory:" });
  const now = () => new Date(T0 * 1000);
  // A mock TEE with fixed keys and clock: its quotes are deterministic too.
  const tee = new MockTeeProvider({
    rootKey: generateAttestationKey(new Uint8Array(32).fill(5)),
    enclaveKey: generateAttestationKey(new Uint8Array(32).fill(6)),
    now: () => T0 - 10,
  });
  const engine = await createEngine({
    db,
    ...DOMAIN,
    verifyingContract: DOMAIN.verifyingContract,
    log: { origin, signerKey, verifierKey },
    now,
    attestation: { mode: "optional", trustedRoots: tee.trustedRoots },
  });
  const reg = (k: Uint8Array, name: string) => {
    const r = signRegistration({ privateKey: k, ...DOMAIN, card: card(name) });
    r.message.expiry = String(T0 + 3600);
    r.signature = signTypedMessage("RegisterAgent", r.message, DOMAIN, k);
    return engine.registry.register(r);
  };
  const agentKey = key(0x11);
  const evaluatorKey = key(0x22);
  const rotatingKey = key(0x33);
  const newKey = key(0x44);
  await reg(agentKey, "vector agent");
  await reg(evaluatorKey, "vector evaluator");
  await reg(rotatingKey, "rotating agent");
  const at = { timestamp: T0, ttlSeconds: 3600 };

  const a1 = await engine.agency.recordAction(
    signAction({
      privateKey: agentKey,
      ...DOMAIN,
      actionType: "governance.simulate",
      nonce: 1,
      studio: "governance",
      task: "proposal-7",
      payload: { proposal: 7, treasuryDelta: "-1000" },
      ...at,
    }),
  );
  const a2 = await engine.agency.recordAction(
    signAction({
      privateKey: agentKey,
      ...DOMAIN,
      actionType: "governance.vote",
      nonce: 2,
      studio: "governance",
      task: "proposal-7",
      parents: [a1.id],
      payload: { vote: "for" },
      ...at,
    }),
  );
  await engine.agency.recordOutcome(
    signOutcome({
      privateKey: evaluatorKey,
      ...DOMAIN,
      action: a2.id,
      status: "success",
      nonce: 1,
      result: { passed: true },
      metrics: { accuracy: 0.93 },
      ...at,
    }),
  );
  // A key rotation, then an action signed by the new key.
  const rotation = {
    agent: privateKeyToAddress(rotatingKey),
    newSigner: privateKeyToAddress(newKey),
    nonce: "1",
    expiry: String(T0 + 3600),
  };
  await engine.registry.rotateKey({
    chainId: CHAIN_ID.toString(),
    message: rotation,
    signature: signTypedMessage("RotateAgentKey", rotation, DOMAIN, rotatingKey),
    newKeyProof: signTypedMessage("RotateAgentKey", rotation, DOMAIN, newKey),
  });
  const a3 = await engine.agency.recordAction(
    signAction({
      privateKey: newKey,
      agent: rotation.agent,
      ...DOMAIN,
      actionType: "tool.call",
      nonce: 1,
      payload: { tool: "search" },
      ...at,
    }),
  );
  // An attested action: a simulation run in the sandbox, its quote signed into the action.
  const run = await executeAttested(
    "export default function main(input) { return { approve: input.grant <= input.treasury / 4 }; }",
    { treasury: 100000, grant: 25000 },
    {
      provider: tee,
      // bound to the acting agent (attestation.md §9): its address ‖ a fixed salt
      nonce: agentBoundNonce(privateKeyToAddress(agentKey), new Uint8Array(16).fill(0x0a)),
      seed: "vectors",
      clock: (T0 - 10) * 1000,
    },
  );
  await defaultSandbox().close();
  const a4 = await engine.agency.recordAction({
    ...signAction({
      privateKey: agentKey,
      ...DOMAIN,
      actionType: "governance.simulate",
      nonce: 3,
      studio: "governance",
      task: "proposal-7",
      attestationHash: run.attestationHash,
      payload: run.result.output,
      ...at,
    }),
    attestation: run.quote,
  });
  await engine.log.checkpoint();

  const withOutcome = await engine.agency.getReceipt(a2.id);
  const simple = await engine.agency.getReceipt(a1.id);
  const rotated = await engine.agency.getReceipt(a3.id);
  const attested = await engine.agency.getReceipt(a4.id);
  const other = generateNoteKey("vectors.chaoscore.dev/log/other", new Uint8Array(32).fill(9));

  const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
  mkdirSync(OUT, { recursive: true });
  // KEPT: captured receipts this generator can no longer make (the log refuses them now)
  const KEPT = new Set(["tampered-attestation-unbound.json"]);
  for (const f of readdirSync(OUT))
    if ((f.endsWith(".json") || f.endsWith(".txt")) && !KEPT.has(f)) rmSync(join(OUT, f));
  writeFileSync(join(OUT, "log-key.txt"), `${verifierKey}\n`);
  const write = (name: string, body: Record<string, unknown>) =>
    writeFileSync(join(OUT, `${name}.json`), `${JSON.stringify(body, null, 2)}\n`);
  const valid = (name: string, description: string, receipt: Receipt) =>
    write(`valid-${name}`, { description, receipt, expected: verifyReceipt(receipt, verifierKey) });
  valid("action", "an action with its payload, no outcome", simple);
  valid(
    "action-outcome",
    "an action with a parent, a payload and an evaluated outcome",
    withOutcome,
  );
  valid("rotated-key", "an action signed by a rotated key, with the signed rotation", rotated);
  writeFileSync(join(OUT, "tee-root.txt"), `${tee.trustedRoots[0]}\n`);
  write("valid-attested", {
    description:
      "an action that carries its execution attestation (verify it with tee-root.txt as the trusted root)",
    receipt: attested,
    attestationRoots: tee.trustedRoots,
    expected: verifyReceipt(attested, verifierKey, {
      attestation: { trustedRoots: tee.trustedRoots },
    }),
  });
  write("tampered-attestation", {
    description: "the attestation's output-bound report data changed after signing",
    receipt: {
      ...clone(attested),
      attestation: { ...clone(attested).attestation, reportData: `0x${"00".repeat(32)}` },
    },
    expectedError: "RECEIPT_ATTESTATION_MISMATCH",
  });
  // chaoscore.receipt/v3: real TEE evidence, built from core's primitives (receipt-vectors-tee.ts)
  writeTeeReceiptVectors({ origin, signerKey, verifierKey, write });
  // shards (receipt.md §7): the same action in shard 1 of the family, with its certificate
  writeShardReceiptVectors({ origin, signerKey, verifierKey, receipt: withOutcome, write });
  const { payload: _omit, ...noPayload } = simple;
  valid("no-payload", "an action whose payload is left out (only its hash is proven)", noPayload);

  const flipChar = (s: string, i: number) => {
    const c = s[i] ?? "0";
    const alphabet = /[0-9a-f]/.test(c)
      ? "0123456789abcdef"
      : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    return s.slice(0, i) + alphabet[(alphabet.indexOf(c) + 1) % alphabet.length] + s.slice(i + 1);
  };
  const tampered = (
    name: string,
    description: string,
    expectedError: string,
    edit: (r: Receipt) => unknown,
  ) => {
    const r = clone(withOutcome);
    const result = edit(r) ?? r;
    write(`tampered-${name}`, { description, receipt: result, expectedError });
  };
  tampered(
    "format",
    "another format tag (v1: entries not bound to a deployment)",
    "RECEIPT_UNSUPPORTED_FORMAT",
    (r) => ({
      ...r,
      format: "chaoscore.receipt/v1",
    }),
  );
  tampered(
    "deployment",
    "the action's deployment (verifyingContract) changed: signed for one deployment, shown as another's",
    "RECEIPT_SIGNATURE_INVALID",
    (r) => {
      r.action.entry.verifyingContract = OTHER_DEPLOYMENT;
    },
  );
  tampered(
    "outcome-deployment",
    "the outcome names another deployment than the action's",
    "RECEIPT_OUTCOME_MISMATCH",
    (r) => {
      if (r.outcome) r.outcome.entry.verifyingContract = OTHER_DEPLOYMENT;
    },
  );
  tampered("extra-field", "an unknown field", "RECEIPT_MALFORMED", (r) => ({ ...r, note: "hi" }));
  tampered(
    "uppercase-hex",
    "the action's signature in upper-case hex",
    "RECEIPT_MALFORMED",
    (r) => {
      r.action.entry.signature =
        `0x${r.action.entry.signature.slice(2).toUpperCase()}` as `0x${string}`;
    },
  );
  tampered(
    "checkpoint-signature",
    "one character of the checkpoint signature changed",
    "RECEIPT_CHECKPOINT_INVALID",
    (r) => {
      const i = r.checkpoint.lastIndexOf(" ") + 5;
      r.checkpoint = flipChar(r.checkpoint, i);
    },
  );
  tampered(
    "checkpoint-size",
    "the checkpoint's tree size changed",
    "RECEIPT_CHECKPOINT_INVALID",
    (r) => {
      const lines = r.checkpoint.split("\n");
      lines[1] = String(Number(lines[1]) + 1);
      r.checkpoint = lines.join("\n");
    },
  );
  tampered(
    "other-log",
    "a checkpoint signed by another log's key",
    "RECEIPT_CHECKPOINT_INVALID",
    (r) => {
      r.checkpoint = r.checkpoint.replace(/^[^\n]+/, "vectors.chaoscore.dev/log/other");
      const body = r.checkpoint.slice(0, r.checkpoint.indexOf("\n\n") + 1);
      r.checkpoint = signNote(body, other.signerKey);
    },
  );
  tampered(
    "action-type",
    "the action's type changed after signing",
    "RECEIPT_SIGNATURE_INVALID",
    (r) => {
      r.action.entry.message.actionType = "governance.veto";
    },
  );
  tampered(
    "action-signature",
    "one byte of the action's signature changed",
    "RECEIPT_SIGNATURE_INVALID",
    (r) => {
      r.action.entry.signature = flipChar(r.action.entry.signature, 20) as `0x${string}`;
    },
  );
  tampered(
    "outcome-status",
    "the outcome's status changed after signing",
    "RECEIPT_SIGNATURE_INVALID",
    (r) => {
      if (r.outcome) r.outcome.entry.message.status = "failure";
    },
  );
  tampered("leaf-index", "the action's leaf index changed", "RECEIPT_INCLUSION_INVALID", (r) => {
    r.action.leafIndex += 1;
  });
  tampered(
    "inclusion-proof",
    "one character of an inclusion proof hash changed",
    "RECEIPT_INCLUSION_INVALID",
    (r) => {
      r.action.inclusionProof[0] = flipChar(r.action.inclusionProof[0] ?? "", 3);
    },
  );
  tampered(
    "truncated-proof",
    "the last inclusion proof hash removed",
    "RECEIPT_INCLUSION_INVALID",
    (r) => {
      r.action.inclusionProof.pop();
    },
  );
  tampered("swapped-outcome", "the outcome of another action", "RECEIPT_OUTCOME_MISMATCH", (r) => {
    if (r.outcome) r.outcome.entry.message.action = simple.action.entry.message.payloadHash;
  });
  tampered("payload", "the payload changed", "RECEIPT_PAYLOAD_MISMATCH", (r) => ({
    ...r,
    payload: { vote: "against" },
  }));
  const rot = (name: string, description: string, code: string, edit: (r: Receipt) => void) => {
    const r = clone(rotated);
    edit(r);
    write(`tampered-${name}`, { description, receipt: r, expectedError: code });
  };
  rot("rotation-missing", "the key rotation left out", "RECEIPT_SIGNATURE_INVALID", (r) => {
    r.action.keyRotations = [];
  });
  rot(
    "rotation-signature",
    "the rotation signed by the new key instead of the old",
    "RECEIPT_SIGNER_PROOF_INVALID",
    (r) => {
      const k = r.action.keyRotations[0];
      if (k) k.signature = signTypedMessage("RotateAgentKey", k.message, DOMAIN, newKey);
    },
  );
  await engine.close();
  await db.close();
  console.log(`wrote ${readdirSync(OUT).length} files to ${OUT}`);
}

await main();
