/**
 * Child process of the durable-acknowledgement test: opens the database named
 * by its environment, registers one agent (first run only) and records signed
 * actions, many in flight, printing `ACK <id>` on stdout as each is
 * acknowledged, until it is killed. Run with `node --import tsx`.
 *
 * Environment: ACK_DATA_DIR (PGlite) or DATABASE_URL + ACK_SCHEMA (Postgres);
 * ACK_KEY (the agent's private key, hex); ACK_LOG_KEYS (JSON of the log's
 * note keys).
 */
import * as core from "@chaoscore/core";
import { createEngine } from "@chaoscore/engine";
import { openDatabase } from "@chaoscore/log";
import { CHAIN_ID, testCard } from "./engine.js";

const env = process.env;
const db =
  env.ACK_DATA_DIR !== undefined
    ? await openDatabase({ databaseUrl: null, dataDir: env.ACK_DATA_DIR })
    : await openDatabase({ databaseUrl: env.DATABASE_URL, schema: env.ACK_SCHEMA as string });
const logKeys = JSON.parse(env.ACK_LOG_KEYS as string) as {
  signerKey: string;
  verifierKey: string;
};
const engine = await createEngine({
  db,
  chainId: CHAIN_ID,
  verifyingContract: core.DEVELOPMENT_DEPLOYMENT,
  log: { origin: "chaoscore.test/log/durable", ...logKeys },
});
const privateKey = core.hexToBytes(env.ACK_KEY as core.Hex, 32);
const [agent] = await engine.registry
  .signingState([core.privateKeyToAddress(privateKey)])
  .then((m) => [...m.values()]);
if (agent === undefined) {
  await engine.registry.register(
    core.signRegistration({ privateKey, chainId: CHAIN_ID, card: testCard("durable") }),
  );
}
// Go on from the last accepted nonce (nonces may not jump far ahead).
let nonce = agent?.actionNonce ?? 0n;
const write = async (): Promise<void> => {
  for (;;) {
    nonce++;
    const signed = core.signAction({
      privateKey,
      chainId: CHAIN_ID,
      actionType: "test.durable",
      nonce,
    });
    // Nonces may reach the writer out of order across lanes: those are refused, not acknowledged.
    const r = await engine.agency.recordAction(signed).catch((error: unknown) => {
      if (core.isChaosCoreError(error, "AGENCY_NONCE_NOT_INCREASING")) return null;
      // Anything else is a broken set-up: say so and stop (the test then fails at once).
      process.stderr.write(`ack-writer: ${String(error)}\n`);
      process.exit(3);
    });
    if (r !== null) process.stdout.write(`ACK ${r.id}\n`);
  }
};
process.stdout.write("READY\n");
await Promise.all(Array.from({ length: 32 }, write));
