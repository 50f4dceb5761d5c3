/**
 * Receipts: the self-contained proof of an action (and its outcome) that an
 * offline verifier checks — the signed entries, their inclusion proofs, the
 * key rotations to their signers, and a signed (preferably anchored)
 * checkpoint covering both (docs/spec/receipt.md).
 * @module
 */
import {
  bytesToBase64,
  entryDigest,
  fail,
  isHex,
  isTeeEvidence,
  type JsonValue,
  parseEntry,
  RECEIPT_FORMAT,
  RECEIPT_FORMAT_V3,
  type Receipt,
  type ReceiptAttestation,
  ReceiptSchema,
} from "@chaoscore/core";
import { fromDbHex } from "../store/bytes.js";
import type { AgencyContext } from "./agency-context.js";

/**
 * A receipt (`chaoscore.receipt/v2`, or `/v3` with real TEE evidence) for an
 * action, with its first outcome (by leaf index); or, for an outcome id, for
 * its action with that outcome.
 * @throws ChaosCoreError AGENCY_ACTION_NOT_FOUND.
 */
export async function buildReceipt(
  ctx: AgencyContext,
  id: string,
  options: { includePayload?: boolean } = {},
): Promise<Receipt> {
  const { db } = ctx;
  if (!isHex(id, 32)) fail("AGENCY_ACTION_NOT_FOUND", "ids are 32-byte lowercase 0x-hex");
  const [row] = await db.query<{
    log_id: string;
    leaf_index: number;
    payload: string | null;
    attestation: string | null;
    outcome_index: number | null;
  }>(
    // The outcome: the one named by an outcome id, else the action's first (receipt.md §3.1),
    // among those in the action's own shard (a receipt is built in one shard: shards.md).
    `SELECT a.log_id, a.leaf_index, encode(a.payload, 'hex') AS payload,
            encode(a.attestation, 'hex') AS attestation,
            -- an outcome id recorded in a later shard than its action: no outcome
            CASE WHEN EXISTS (SELECT 1 FROM outcomes WHERE id = decode($1, 'hex'))
              THEN (SELECT o.leaf_index FROM outcomes o WHERE o.id = decode($1, 'hex')
                      AND o.action_id = a.id AND o.log_id = a.log_id)
              ELSE (SELECT min(o.leaf_index) FROM outcomes o WHERE o.action_id = a.id
                      AND o.log_id = a.log_id) END AS outcome_index
     FROM actions a
     WHERE a.log_id IN (SELECT id FROM logs WHERE family_id = $2)
       AND (a.id = decode($1, 'hex') OR a.id = (SELECT action_id FROM outcomes WHERE id = decode($1, 'hex')))`,
    [id.slice(2), ctx.logs.id],
  );
  if (row === undefined) fail("AGENCY_ACTION_NOT_FOUND", `no action or outcome ${id}`);
  const log = await ctx.logs.get(row.log_id);
  const actionIndex = Number(row.leaf_index);
  const outcomeIndex = row.outcome_index === null ? null : Number(row.outcome_index);
  const lastIndex = Math.max(actionIndex, outcomeIndex ?? -1);
  // Prefer the latest anchored checkpoint that covers the entries: the
  // receipt then carries its anchor. Otherwise, the latest signed one.
  const anchored = (await ctx.anchors?.anchorCovering(log.id, lastIndex)) ?? null;
  const anchoredCheckpoint = anchored === null ? undefined : await log.checkpointAt(anchored.size);
  const checkpoint = anchoredCheckpoint ?? (await log.checkpointCovering(lastIndex));
  const prove = async (index: number) => {
    const [stored] = await log.entries(index, index + 1);
    if (stored === undefined) fail("LOG_AUDIT_FAILED", `leaf ${index} is missing from the log`);
    const entry = parseEntry(JSON.parse(new TextDecoder().decode(stored.entry)));
    const proof = await log.inclusionProof(index, checkpoint.size);
    const signer = await ctx.verifier.recover(entryDigest(entry), entry.signature);
    const keyRotations =
      signer === entry.message.agent
        ? []
        : await ctx.agents.keyRotations(entry.message.agent, signer);
    return { entry, leafIndex: index, inclusionProof: proof.map(bytesToBase64), keyRotations };
  };
  const action = await prove(actionIndex);
  const outcome = outcomeIndex === null ? null : await prove(outcomeIndex);
  const attestation =
    row.attestation === null
      ? null
      : (JSON.parse(new TextDecoder().decode(fromDbHex(row.attestation))) as ReceiptAttestation);
  const receipt: Receipt = {
    // v3 exactly when the attestation is real TEE evidence (docs/spec/receipt.md)
    format: attestation !== null && isTeeEvidence(attestation) ? RECEIPT_FORMAT_V3 : RECEIPT_FORMAT,
    action: action as Receipt["action"],
    outcome: outcome as Receipt["outcome"],
    checkpoint: checkpoint.note,
    anchor: anchoredCheckpoint === undefined || anchored === null ? null : anchored.anchor,
    attestation,
  };
  if (log.id !== ctx.logs.id && "shard" in ReceiptSchema.properties) {
    // A shard n ≥ 1 carries its certificate (signed by the family key: shards.md).
    const [cert] = await db.query<{ certificate: string | null }>(
      "SELECT certificate FROM logs WHERE id = $1",
      [log.id],
    );
    if (cert?.certificate != null) {
      (receipt as Receipt & { shard?: string }).shard = cert.certificate;
    }
  }
  if (options.includePayload !== false && row.payload !== null) {
    receipt.payload = JSON.parse(new TextDecoder().decode(fromDbHex(row.payload))) as JsonValue;
  }
  return receipt;
}
