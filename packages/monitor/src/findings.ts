/** What a monitor can find wrong with a log. */
export const FINDING_KINDS = [
  /** Two different trees for one log: a checkpoint that does not extend the one seen before. */
  "split_view",
  /** The log went backwards: a smaller checkpoint than one seen before, or than one anchored. */
  "rollback",
  /** An entry that is not a well-formed, canonical entry signed by its agent. */
  "bad_entry",
  /** A checkpoint that is not signed by the policy's log key. */
  "bad_signature",
  /** A checkpoint without the cosignatures of the policy's quorum of witnesses. */
  "quorum_missing",
  /** An anchored checkpoint that the log's tree does not contain. */
  "anchor_mismatch",
  /** A tile or entry bundle that does not match the entries, or the entries the checkpoint. */
  "tampered_tile",
  /** The log (or the chain) could not be read. */
  "unreachable",
  /** A frozen shard of a log family grew past its final size. */
  "frozen_grew",
  /** A shard's link entry (leaf 0) does not commit to its predecessor's final checkpoint. */
  "bad_link",
  /** A shard without a valid certificate by the family key, or listed with another key or origin. */
  "bad_certificate",
] as const;

export type FindingKind = (typeof FINDING_KINDS)[number];

/** One finding: its kind, a sentence, and the facts behind it. */
export type Finding = {
  readonly kind: FindingKind;
  readonly message: string;
  /** The tree size the finding is about, when there is one. */
  readonly size?: number;
  /** The leaf index (entries) or tile index (tiles), when there is one. */
  readonly index?: number;
  readonly details?: Readonly<Record<string, unknown>>;
};

/** A finding, with only the fields that are set. */
export function finding(
  kind: FindingKind,
  message: string,
  extra: { size?: number; index?: number; details?: Record<string, unknown> } = {},
): Finding {
  return {
    kind,
    message,
    ...(extra.size === undefined ? {} : { size: extra.size }),
    ...(extra.index === undefined ? {} : { index: extra.index }),
    ...(extra.details === undefined ? {} : { details: extra.details }),
  };
}
