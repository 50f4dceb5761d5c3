/**
 * The `chaoscore.receipt/v3` vectors of vectors/receipts/: receipts that carry
 * real TEE evidence (`chaoscore.tee-evidence/v1`) — the public AWS Nitro
 * document and Intel TDX quote of vectors/attestation/, unchanged — judged
 * under a trust policy's `attestation` member (docs/spec/receipt.md §4 step 6).
 *
 * Built from core's primitives (signed actions, a tree, a checkpoint signed
 * with the vectors' log key), not by the engine: the log does not yet accept
 * real evidence at ingest. The public evidence was not made for these agents,
 * so its nonce names none of them: the valid vectors' policies say
 * `requireAgentBinding: false` (the result says `agentBound: false`), and the
 * same receipt under the default policy fails with ATTESTATION_AGENT_MISMATCH.
 * Called by generate-receipt-vectors.ts (`npm run vectors:receipts`).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type AttestationTrustPolicy,
  bytesToBase64,
  deploymentAddress,
  encodeEntry,
  hexToBytes,
  inclusionProofPlan,
  isChaosCoreError,
  leafHash,
  RECEIPT_FORMAT,
  RECEIPT_FORMAT_V3,
  type Receipt,
  resolveProof,
  rootFromLeafHashes,
  signAction,
  signCheckpoint,
  snpEvidence,
  type TeeEvidence,
  teeEvidenceHash,
  toTeeEvidence,
  verifyReceipt,
  verifyTeeEvidence,
} from "@chaoscore/core";
import { pemToDer } from "./generate-snp-vectors.js";

const ATT = join(import.meta.dirname, "..", "vectors", "attestation");
const file = (p: string) => new Uint8Array(readFileSync(join(ATT, p)));
const text = (p: string) => readFileSync(join(ATT, p), "utf8");

/** The Nitro document's fixed time and the TDX collateral's (vectors/attestation/README.md). */
const NITRO_NOW = 1663263864;
const SNP_NOW = 1663981200;
const TDX_NOW = 1688173200;
const PCR0 =
  "0xea4212ee889ba1b4dbfe744aadecca8b1930de60a3a1ce3b0c79f42b231700fc561c3d9b34f0565ed9eb6f460996624c";

type Write = (name: string, body: Record<string, unknown>) => void;

function causeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (isChaosCoreError(error)) return String(error.details?.cause ?? error.code);
    throw error;
  }
  throw new Error("expected a failure");
}

export function writeTeeReceiptVectors(args: {
  origin: string;
  signerKey: string;
  verifierKey: string;
  write: Write;
}): void {
  const { origin, signerKey, verifierKey, write } = args;
  const chainId = 31337n;
  const domain = { chainId, verifyingContract: deploymentAddress("receipt vectors") };
  const agentKey = hexToBytes(`0x${"55".repeat(32)}`);

  const nitro = toTeeEvidence("aws-nitro", file("nitro/cape-2022-09-15.cbor"));
  const tdx = toTeeEvidence("intel-tdx", file("tdx/spr-e4-quote-v4.dat"), {
    tcbInfo: text("tdx/sample_tcbInfo_response"),
    tcbInfoIssuerChain: text("tdx/tcb_info_issuer_chain.pem"),
    qeIdentity: text("tdx/sample_qeIdentity_response"),
    qeIdentityIssuerChain: text("tdx/qe_identity_issuer_chain.pem"),
    pckCrl: bytesToBase64(file("tdx/pckcrl")),
  });
  // one byte of the COSE signature flipped (its last byte), then signed into an action:
  // bound to the action, but no longer AWS's signature
  const forgedBytes = file("nitro/cape-2022-09-15.cbor");
  forgedBytes[forgedBytes.length - 1] = (forgedBytes[forgedBytes.length - 1] as number) ^ 0x01;
  const forged = toTeeEvidence("aws-nitro", forgedBytes);
  const [ask, ark] = pemToDer(text("snp/ask_ark_milan.pem")) as [Uint8Array, Uint8Array];
  const snp = snpEvidence(file("snp/attestation.bin"), [file("snp/vcek.der"), ask, ark]);

  const act = (evidence: TeeEvidence, nonce: number, timestamp: number) =>
    signAction({
      privateKey: agentKey,
      ...domain,
      actionType: "governance.simulate",
      nonce,
      studio: "governance",
      task: "proposal-9",
      attestationHash: teeEvidenceHash(evidence),
      payload: { approve: true },
      timestamp,
      ttlSeconds: 3600,
    });
  const signed = [
    act(nitro, 1, NITRO_NOW),
    act(tdx, 2, TDX_NOW),
    act(forged, 3, NITRO_NOW),
    act(snp, 4, SNP_NOW),
  ];
  const leaves = signed.map((s) => leafHash(encodeEntry(s.entry)));
  const node = (level: number, index: number) =>
    rootFromLeafHashes(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level));
  const checkpoint = signCheckpoint(
    { origin, size: leaves.length, rootHash: rootFromLeafHashes(leaves), extensions: [] },
    signerKey,
  );
  const receipt = (i: number, attestation: TeeEvidence): Receipt =>
    ({
      format: RECEIPT_FORMAT_V3,
      action: {
        entry: signed[i]?.entry,
        leafIndex: i,
        inclusionProof: resolveProof(inclusionProofPlan(i, leaves.length), node).map((h) =>
          bytesToBase64(h),
        ),
        keyRotations: [],
      },
      outcome: null,
      payload: signed[i]?.payload,
      checkpoint,
      anchor: null,
      attestation,
    }) as unknown as Receipt;

  const nitroReceipt = receipt(0, nitro);
  const tdxReceipt = receipt(1, tdx);
  const forgedReceipt = receipt(2, forged);
  const snpReceipt = receipt(3, snp);
  const nitroPolicy: AttestationTrustPolicy = {
    requireAgentBinding: false,
    maxAgeSeconds: 300,
    nitro: { allowedPcrs: { "0": [PCR0] } },
  };
  const tdxPolicy: AttestationTrustPolicy = {
    requireAgentBinding: false,
    tdx: { allowedTcbStatuses: ["UpToDate", "NotSupported"] },
  };
  const valid = (
    name: string,
    description: string,
    r: Receipt,
    attestationPolicy: AttestationTrustPolicy,
  ) =>
    write(`valid-${name}`, {
      description,
      receipt: r,
      attestationPolicy,
      expected: verifyReceipt(r, verifierKey, {
        attestationPolicy,
        evidenceVerifier: verifyTeeEvidence,
      }),
    });
  const tampered = (
    name: string,
    description: string,
    r: unknown,
    attestationPolicy: AttestationTrustPolicy | null,
    expectedError: string,
  ) => {
    const options =
      attestationPolicy === null ? {} : { attestationPolicy, evidenceVerifier: verifyTeeEvidence };
    const expectedCause = causeOf(() => verifyReceipt(r, verifierKey, options));
    write(`tampered-${name}`, {
      description,
      receipt: r,
      ...(attestationPolicy === null ? {} : { attestationPolicy }),
      expectedError,
      ...(expectedCause === expectedError ? {} : { expectedCause }),
    });
  };

  valid(
    "v3-nitro",
    "a chaoscore.receipt/v3 carrying a real AWS Nitro attestation document (vectors/attestation/nitro/cape-2022-09-15.cbor) unchanged, judged at the action's time under a policy pinning PCR0; public evidence names no agent of ours, so the policy waives the agent binding (agentBound: false)",
    nitroReceipt,
    nitroPolicy,
  );
  valid(
    "v3-tdx",
    "a chaoscore.receipt/v3 carrying a real Intel TDX v4 quote with its Intel PCS collateral, judged at the action's time; TCB status NotSupported (accepted by this policy), QE UpToDate; agent binding waived (agentBound: false)",
    tdxReceipt,
    tdxPolicy,
  );
  const snpPolicy: AttestationTrustPolicy = {
    requireAgentBinding: false,
    snp: { allowDebug: true, minimumTcb: { bootLoader: 2, tee: 0, snp: 5, microcode: 68 } },
  };
  valid(
    "v3-snp",
    "a chaoscore.receipt/v3 carrying a real AMD SEV-SNP report with its VCEK, ASK and ARK (vectors/attestation/snp/), judged at the action's time; the guest is a debug VM (the policy allows it), the reported TCB is pinned; agent binding waived (agentBound: false)",
    snpReceipt,
    snpPolicy,
  );
  tampered(
    "v3-snp-debug",
    "the valid SEV-SNP receipt under a policy that refuses debug guests (the default)",
    snpReceipt,
    { requireAgentBinding: false },
    "RECEIPT_ATTESTATION_INVALID",
  );
  tampered(
    "v3-nitro-unbound",
    "the valid Nitro receipt under a policy that requires the agent binding (the default): the document's nonce does not start with the acting agent's address",
    nitroReceipt,
    { ...nitroPolicy, requireAgentBinding: true },
    "RECEIPT_ATTESTATION_INVALID",
  );
  tampered(
    "v3-nitro-pcr",
    "the valid Nitro receipt under a policy pinning another PCR0",
    nitroReceipt,
    { ...nitroPolicy, nitro: { allowedPcrs: { "0": [`0x${"00".repeat(48)}`] } } },
    "RECEIPT_ATTESTATION_INVALID",
  );
  tampered(
    "v3-nitro-stale",
    "the valid Nitro receipt under a policy whose maximum age is shorter than the gap between the document (17:43:28Z) and the action (56 s later)",
    nitroReceipt,
    { ...nitroPolicy, maxAgeSeconds: 30 },
    "RECEIPT_ATTESTATION_INVALID",
  );
  tampered(
    "v3-nitro-platform",
    "the valid Nitro receipt under a policy that accepts only Intel TDX",
    nitroReceipt,
    { ...nitroPolicy, platforms: ["intel-tdx"] },
    "RECEIPT_ATTESTATION_INVALID",
  );
  tampered(
    "v3-nitro-signature",
    "a Nitro document with one flipped byte in its COSE signature, signed into the action: bound to the action, but not signed by AWS's key",
    forgedReceipt,
    nitroPolicy,
    "RECEIPT_ATTESTATION_INVALID",
  );
  tampered(
    "v3-tdx-tcb-status",
    "the valid TDX receipt under the default TCB policy (UpToDate only): its TCB status is NotSupported",
    tdxReceipt,
    { requireAgentBinding: false },
    "RECEIPT_ATTESTATION_INVALID",
  );
  const swapped = JSON.parse(JSON.stringify(nitroReceipt)) as Receipt & {
    attestation: { document: string };
  };
  swapped.attestation.document = `${swapped.attestation.document.slice(0, 100)}${swapped.attestation.document[100] === "A" ? "B" : "A"}${swapped.attestation.document.slice(101)}`;
  tampered(
    "v3-evidence-changed",
    "one base64 character of the carried Nitro document changed: it no longer hashes to the action's attestationHash",
    swapped,
    null,
    "RECEIPT_ATTESTATION_MISMATCH",
  );
  tampered(
    "v2-with-evidence",
    "TEE evidence in a chaoscore.receipt/v2 (which carries only mock quotes)",
    { ...nitroReceipt, format: RECEIPT_FORMAT },
    null,
    "RECEIPT_MALFORMED",
  );
  tampered(
    "v3-without-evidence",
    "a chaoscore.receipt/v3 whose attestation is null (v3 exists only for TEE evidence: one encoding per receipt)",
    { ...nitroReceipt, attestation: null },
    null,
    "RECEIPT_MALFORMED",
  );
}
