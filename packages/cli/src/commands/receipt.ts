import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  canonicalJsonBytes,
  isChaosCoreError,
  parseReceipt,
  parseTrustPolicy,
  parseVerifierKey,
  type Receipt,
  sha256Hex,
  type TrustPolicy,
  type VerifiedReceipt,
  type VerifiedReceiptWithPolicy,
  verifyReceipt,
  verifyReceiptWithPolicy,
  verifyTeeEvidence,
} from "@chaoscore/core";
import { readConfig } from "../data-dir.js";
import { withEngine } from "../engine-context.js";
import { count, info, out, printFields, printJson, shellQuote, UsageError } from "../output.js";
import type { Globals } from "../program.js";
import { trustedTeeRoots } from "../tee-root.js";
import { trustedAnchors } from "../trusted-anchors.js";

/** The receipt hash: SHA-256 of the receipt's RFC 8785 canonical JSON. */
export function receiptHash(receipt: Receipt): `0x${string}` {
  return sha256Hex(canonicalJsonBytes(receipt));
}

/** `chaoscore receipt get <id> [--out file]`. */
export async function runReceiptGet(
  { dataDir }: Globals,
  id: string,
  opts: { out?: string; json?: boolean },
): Promise<void> {
  const receipt = await withEngine(dataDir, ({ engine }) =>
    engine.agency.getReceipt(id.toLowerCase()),
  );
  const hash = receiptHash(receipt);
  const text = `${JSON.stringify(receipt, null, 2)}\n`;
  if (opts.out === undefined) {
    out(text);
    info(`receipt hash ${hash}`);
    return;
  }
  const path = resolve(opts.out);
  await writeFile(path, text);
  if (opts.json === true) printJson({ path, hash });
  else {
    out(`✓ receipt written`);
    printFields([
      ["path", path],
      ["hash", hash],
    ]);
  }
  info(`next: chaoscore receipt verify ${shellQuote(opts.out)}`);
}

async function readInput(file: string): Promise<string> {
  try {
    if (file !== "-") return await readFile(file, "utf8");
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  } catch (error) {
    throw new UsageError(`cannot read the receipt ${file}: ${(error as Error).message}`);
  }
}

async function trustedLogKey(dataDir: string, logKey: string | undefined): Promise<string> {
  if (logKey !== undefined) {
    try {
      parseVerifierKey(logKey);
    } catch (error) {
      throw new UsageError(`--log-key is not a log verifier key: ${(error as Error).message}`);
    }
    return logKey;
  }
  try {
    return (await readConfig(dataDir)).log.verifierKey;
  } catch (error) {
    if (isChaosCoreError(error, "CLI_NOT_INITIALIZED")) {
      throw new UsageError(
        `no trusted log key: pass --log-key <verifierKey> (or use a data dir with a config.json; ${dataDir} has none)`,
      );
    }
    throw error;
  }
}

/** Reads and parses `--policy FILE`; a bad file is a usage error naming the code. */
export async function readPolicyFile(file: string): Promise<TrustPolicy> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read the trust policy ${file}: ${(error as Error).message}`);
  }
  try {
    return parseTrustPolicy(text);
  } catch (error) {
    if (!isChaosCoreError(error)) throw error;
    throw new UsageError(`the trust policy ${file} is refused: ${error.code}: ${error.message}`);
  }
}

/** The witnesses line: the quorum and each cosignature of a policy witness. */
function witnessLine(verified: VerifiedReceipt | VerifiedReceiptWithPolicy): [string, string][] {
  if (!("witnesses" in verified)) return [];
  const { required, verified: count, cosignatures } = verified.witnesses;
  const each = cosignatures.map(
    (c) =>
      `${c.verified ? "✓" : "✗"} ${c.name}+${c.keyId} at ${new Date(c.timestamp * 1000).toISOString()}`,
  );
  return [
    [
      "witnesses",
      `${count} of ${required} required cosigned the checkpoint${each.length > 0 ? `: ${each.join("; ")}` : ""}`,
    ],
  ];
}

/** Lines that say what a verified receipt proves. */
function describe(receipt: Receipt, verified: VerifiedReceipt, logKey: string): [string, string][] {
  const action = receipt.action.entry.message;
  const outcome = receipt.outcome;
  const { name, keyId } = parseVerifierKey(logKey);
  return [
    ["action", `${verified.actionId} (${action.actionType}), leaf ${verified.leafIndex}`],
    [
      "agent",
      `${verified.agent} signed it for chain ${verified.chainId}${
        receipt.action.keyRotations.length > 0
          ? ` (with a key reached by ${count(receipt.action.keyRotations.length, "signed rotation")})`
          : ""
      }`,
    ],
    [
      "outcome",
      outcome === null
        ? "none in this receipt"
        : `${verified.outcomeId} (${outcome.entry.message.status}) signed by ${outcome.entry.message.agent}, leaf ${outcome.leafIndex}`,
    ],
    [
      "payload",
      receipt.payload === undefined
        ? `not included (the signed payload hash is ${action.payloadHash})`
        : "included, matches the signed payload hash",
    ],
    [
      "log",
      `${outcome === null ? "the action is" : "both are"} in the tree of ${verified.origin} ` +
        `at size ${verified.treeSize}, root ${verified.rootHash}`,
    ],
    [
      "checkpoint",
      verified.shard === undefined
        ? `signed by the trusted log key ${name}+${keyId}${"witnesses" in verified ? " (from the trust policy)" : ""}`
        : `signed by the key of shard ${verified.shard.number} (${shortKey(verified.shard.verifierKey)})`,
    ],
    ...(verified.shard === undefined
      ? []
      : ([
          [
            "shard",
            `${verified.shard.number} of the log family ${verified.shard.family}: its certificate verified ` +
              `under the trusted log key ${name}+${keyId}${"witnesses" in verified ? " (from the trust policy)" : ""}`,
          ],
        ] as [string, string][])),
    ...witnessLine(verified),
    [
      "attestation",
      {
        none: "none (the action signs no attestation)",
        absent: `not included (the signed attestation hash is ${action.attestationHash})`,
        bound: "included and bound to the action; not judged (no trusted TEE root here)",
        verified: attestationLine(verified),
      }[verified.attestation],
    ],
  ];
}

/** `<name>+<key id>` of a verifier key (without the key bytes). */
function shortKey(verifierKey: string): string {
  const { name, keyId } = parseVerifierKey(verifierKey);
  return `${name}+${keyId}`;
}

/** What a judged attestation established: platform, measurements, TCB status, root, agent. */
function attestationLine(verified: VerifiedReceipt): string {
  const r = verified.attestationResult;
  if (r === undefined) return "verified";
  const measurements = Object.entries(r.measurements)
    .map(([k, v]) => `${/^[0-9]+$/.test(k) ? `PCR${k}` : k} ${v}`)
    .join(", ");
  const tcb =
    r.tcbStatus === "n/a"
      ? ""
      : `, TCB ${r.tcbStatus}${r.qeStatus === undefined ? "" : ` (QE ${r.qeStatus})`}`;
  return (
    `verified: ${r.platform}${tcb}, root ${r.root}` +
    `${r.timestamp === null ? "" : `, made ${new Date(r.timestamp * 1000).toISOString()}`}; ` +
    `${r.agentBound ? "bound to the acting agent" : "NOT bound to the acting agent (the policy waives it)"}; ` +
    `measurements: ${measurements}`
  );
}

/** `chaoscore receipt verify <file|->`: offline, with only the receipt and the log key. */
export async function runReceiptVerify(
  { dataDir }: Globals,
  file: string,
  opts: {
    logKey?: string;
    policy?: string;
    rpc?: string;
    contract?: string;
    chainId?: string;
    json?: boolean;
  },
): Promise<void> {
  if (opts.policy !== undefined && opts.logKey !== undefined) {
    throw new UsageError("--policy names the log key: leave out --log-key");
  }
  const policy = opts.policy === undefined ? undefined : await readPolicyFile(opts.policy);
  if (policy !== undefined && policy.anchors.length > 0 && opts.contract !== undefined) {
    throw new UsageError("--policy names the trusted anchor contracts: leave out --contract");
  }
  const text = await readInput(file);
  const logKey = policy?.log.key ?? (await trustedLogKey(dataDir, opts.logKey));
  // The anchor contracts to trust come from the caller (the policy, --contract, the data
  // dir's deployments), never from the receipt.
  const trusted =
    opts.rpc === undefined
      ? []
      : policy !== undefined && policy.anchors.length > 0
        ? [...policy.anchors]
        : await trustedAnchors(dataDir, opts);
  // Attestations are judged against the data dir's TEE roots (and
  // CHAOSCORE_TEE_ROOTS) and the policy's attestation member (real TEE evidence:
  // platforms, vendor roots, measurements, TCB statuses, age); without either,
  // only their binding to the action is checked.
  const teeRoots = await trustedTeeRoots(dataDir);
  let verified: VerifiedReceipt | VerifiedReceiptWithPolicy;
  const { nodeEcdsaVerifier } = await import("@chaoscore/core/tee/node-ecdsa");
  const options = {
    ecdsa: nodeEcdsaVerifier,
    evidenceVerifier: verifyTeeEvidence,
    ...(teeRoots.length === 0 ? {} : { attestation: { trustedRoots: teeRoots } }),
  };
  try {
    verified =
      policy === undefined
        ? verifyReceipt(text, logKey, options)
        : verifyReceiptWithPolicy(text, policy, options);
  } catch (error) {
    if (!isChaosCoreError(error)) throw error;
    if (opts.json === true) {
      printJson({
        valid: false,
        code: error.code,
        message: error.message,
        ...(error.details === undefined ? {} : { details: error.details }),
      });
    } else info(`✗ ${error.code}: ${error.message}`);
    process.exitCode = 1;
    return;
  }
  const receipt = parseReceipt(text);
  // The one optional look-up: the anchor, on chain.
  let onChain: Awaited<ReturnType<typeof import("@chaoscore/chain").verifyReceiptAnchor>> = null;
  if (opts.rpc !== undefined && receipt.anchor !== null) {
    const { verifyReceiptAnchor } = await import("@chaoscore/chain");
    try {
      onChain = await verifyReceiptAnchor(receipt, {
        rpcUrl: opts.rpc,
        trusted,
        trustedLogKey: logKey,
      });
    } catch (error) {
      if (!isChaosCoreError(error)) throw error;
      if (opts.json === true) printJson({ valid: false, code: error.code, message: error.message });
      else info(`✗ ${error.code}: ${error.message}`);
      process.exitCode = 1;
      return;
    }
  }
  const anchorLine =
    receipt.anchor === null
      ? "none (the checkpoint is not anchored on chain in this receipt)"
      : onChain === null
        ? `chain ${receipt.anchor.chainId}, index ${receipt.anchor.index}, tx ${receipt.anchor.txHash}: not checked on chain (pass --rpc <url>)`
        : `✓ on chain ${onChain.chainId}: contract ${onChain.contract} holds checkpoint ${onChain.index} ` +
          `(size ${onChain.size}) from tx ${onChain.txHash} in block ${onChain.blockNumber} ` +
          `(${onChain.confirmations} confirmations, ${new Date(onChain.timestamp * 1000).toISOString()})`;
  if (opts.json === true) {
    printJson({
      valid: true,
      ...verified,
      anchorChecked: onChain !== null,
      ...(onChain === null ? {} : { anchorOnChain: onChain }),
      receiptHash: receiptHash(receipt),
    });
    return;
  }
  out("✓ receipt verified");
  printFields(
    [
      ...describe(receipt, verified, logKey),
      ["anchor", anchorLine],
      ["hash", receiptHash(receipt)],
    ],
    "  ",
  );
}
