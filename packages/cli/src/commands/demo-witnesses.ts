/**
 * The demo's witnesses: three C2SP tlog-witnesses served in this process on
 * loopback ports (each with its own key and an in-memory store), the log's
 * witnessing client pointed at them, and the trust policy a verifier would
 * pin (`chaoscore.trust-policy/v1`). See docs/spec/witness.md.
 * @module
 */
import {
  generateWitnessKey,
  parseTrustPolicy,
  TRUST_POLICY_FORMAT,
  type TrustPolicy,
} from "@chaoscore/core";
import { type TransparencyLog, WitnessingService } from "@chaoscore/log";

/** A witness the demo runs. */
export type DemoWitness = { name: string; url: string; verifierKey: string };

/** Starts `count` witnesses following `log` and a witnessing service that feeds them. */
export async function startDemoWitnesses(log: TransparencyLog, count = 3) {
  const { MemoryWitnessStore, serveWitness, Witness } = await import("@chaoscore/witness");
  const servers: { close(): Promise<void> }[] = [];
  const witnesses: DemoWitness[] = [];
  try {
    for (let i = 1; i <= count; i++) {
      const name = `witness.demo/w${i}`;
      const { signerKey, verifierKey } = generateWitnessKey(name);
      const witness = new Witness({
        signerKey,
        logs: [{ origin: log.origin, verifierKey: log.verifierKey }],
        store: new MemoryWitnessStore(),
      });
      const server = await serveWitness(witness, { host: "127.0.0.1", port: 0 });
      servers.push(server);
      witnesses.push({ name, url: server.url, verifierKey });
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.close()));
    throw error;
  }
  const service = new WitnessingService({
    log,
    witnesses: witnesses.map((w) => ({ url: w.url, verifierKey: w.verifierKey })),
  });
  service.start();
  return {
    witnesses,
    service,
    async close() {
      await service.stop();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

/**
 * The trust policy of the demo's receipt: the log key, the witnesses with a
 * quorum of 2, and the anchor contract the demo deployed.
 */
export function demoTrustPolicy(
  logKey: string,
  witnesses: readonly DemoWitness[],
  anchor?: { chainId: string; contract: string },
): TrustPolicy {
  return parseTrustPolicy({
    format: TRUST_POLICY_FORMAT,
    log: { key: logKey },
    witnesses: { keys: witnesses.map((w) => w.verifierKey), quorum: Math.min(2, witnesses.length) },
    ...(anchor === undefined ? {} : { anchors: [anchor] }),
  });
}

/** Verifies the receipt under the policy (log key, witness quorum, anchor contract) and the TEE roots. */
export async function verifyUnderPolicy(
  receipt: string,
  policy: TrustPolicy,
  trustedRoots: readonly `0x${string}`[],
) {
  const { verifyReceiptWithPolicy } = await import("@chaoscore/core");
  return verifyReceiptWithPolicy(receipt, policy, {
    attestation: { trustedRoots: [...trustedRoots] },
  });
}
