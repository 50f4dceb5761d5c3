/**
 * The node's configuration: one typed, validated object, whatever it was read
 * from (a data directory's config.json and log.key, the environment, command
 * flags: see docs/configuration.md for where each field comes from).
 * @module
 */
import { ChaosCoreError } from "@chaoscore/core";
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

const HexKey = Type.String({ pattern: "^0x[0-9a-f]{64}$" });

/** The JSON schema of {@link NodeConfig}. */
export const NodeConfigSchema = Type.Object(
  {
    /** The EIP-155 chain id agents sign for (EIP-712 domain), decimal. */
    chainId: Type.String({ pattern: "^[1-9][0-9]{0,19}$" }),
    /** The log's identity and its C2SP signed-note keys. */
    log: Type.Object(
      {
        id: Type.String({ minLength: 1 }),
        origin: Type.String({ minLength: 1 }),
        signerKey: Type.String({ minLength: 1 }),
        verifierKey: Type.String({ minLength: 1 }),
      },
      { additionalProperties: false },
    ),
    /**
     * The deployment agents sign for (EIP-712 `verifyingContract`); default
     * `deploymentAddress(log.verifierKey)`.
     */
    verifyingContract: Type.Optional(Type.String({ pattern: "^0x[0-9a-f]{40}$" })),
    /** Where the data lives: a Postgres URL, else PGlite in `dataDir` (`:memory:` for none). */
    database: Type.Object(
      {
        url: Type.Optional(Type.String({ minLength: 1 })),
        dataDir: Type.Optional(Type.String({ minLength: 1 })),
        schema: Type.Optional(Type.String({ pattern: "^[a-z_][a-z0-9_]{0,62}$" })),
        /**
         * A streaming replica of `url` (a Postgres hot standby): reads of proofs, tiles,
         * entries, checkpoints, actions, agents and search go there, falling back to the
         * primary (docs/scaling.md "Read replicas"). Only with `url`.
         */
        readUrl: Type.Optional(Type.String({ minLength: 1 })),
      },
      { additionalProperties: false },
    ),
    /** Attestation roots the log trusts (attested actions are optional). */
    attestation: Type.Optional(
      Type.Object({ trustedRoots: Type.Array(HexKey) }, { additionalProperties: false }),
    ),
    /** Worker threads for signature recovery; 0 recovers inline. */
    signatureThreads: Type.Optional(Type.Integer({ minimum: 0 })),
    /**
     * When the log family's active shard is frozen and the next one started
     * (docs/spec/shards.md): at `maxEntries` leaves (0 = never; else ≥ 2) or
     * `maxAgeSeconds` of age (0 = never). Absent: never.
     */
    shards: Type.Optional(
      Type.Object(
        {
          maxEntries: Type.Optional(Type.Integer({ minimum: 0 })),
          maxAgeSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
        },
        { additionalProperties: false },
      ),
    ),
    /**
     * The CheckpointAnchor contract whose stored anchors receipts carry (on
     * `chainId`); without it only the chain is filtered.
     */
    anchorContract: Type.Optional(Type.String({ pattern: "^0x[0-9a-fA-F]{40}$" })),
  },
  { additionalProperties: false },
);

/** The node's configuration ({@link NodeConfigSchema}). */
export type NodeConfig = Static<typeof NodeConfigSchema>;

/**
 * Checks a configuration against {@link NodeConfigSchema}.
 * @param source where it was read from, for the message (e.g. the data directory).
 * @throws ChaosCoreError INVALID_INPUT naming the first field that does not fit.
 */
export function parseNodeConfig(value: unknown, source = "the node configuration"): NodeConfig {
  if (Value.Check(NodeConfigSchema, value)) return value;
  const first = Value.Errors(NodeConfigSchema, value).First();
  const field = first?.path === undefined || first.path === "" ? "/" : first.path;
  throw new ChaosCoreError(
    "INVALID_INPUT",
    `${source}: ${field} ${first?.message ?? "is invalid"}`.replace(/\s+/g, " "),
    { details: { field } },
  );
}
