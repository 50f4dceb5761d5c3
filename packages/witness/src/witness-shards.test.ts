/**
 * A witness configured with a log family's key cosigns checkpoints of the
 * family's shards `<family>/s<n>` under the shard key certified by the
 * family key (docs/spec/witness.md §3.1): the certificate comes with the
 * request (header ChaosCore-Shard-Certificate over HTTP).
 */
import {
  addSignatureLines,
  deriveShardKey,
  formatAddCheckpointRequest,
  generateNoteKey,
  generateWitnessKey,
  signShardCertificate,
  verifyCosignatures,
} from "@chaoscore/core";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryWitnessStore } from "./memory-witness-store.js";
import { serveWitness, type WitnessServer } from "./server.js";
import { MemoryLog } from "./test-support/memory-log.js";
import { SHARD_CERTIFICATE_HEADER, Witness } from "./witness.js";

const FAMILY = "chaoscore.test/family";
const family = generateNoteKey(FAMILY, new Uint8Array(32).fill(61));
const witnessKeys = generateWitnessKey("witness.test/shards", new Uint8Array(32).fill(62));
const shardLog = (n: number, keys = deriveShardKey(family.signerKey, `${FAMILY}/s${n}`)) =>
  new MemoryLog(`${FAMILY}/s${n}`, keys);
const certificate = (n: number, signer = family.signerKey, key?: string) =>
  signShardCertificate(signer, {
    familyOrigin: FAMILY,
    shard: n,
    shardOrigin: `${FAMILY}/s${n}`,
    shardVerifierKey: key ?? deriveShardKey(family.signerKey, `${FAMILY}/s${n}`).verifierKey,
  });

function newWitness() {
  const store = new MemoryWitnessStore();
  const witness = new Witness({
    signerKey: witnessKeys.signerKey,
    logs: [{ origin: FAMILY, verifierKey: family.verifierKey }],
    store,
    now: () => 1_800_000_000,
  });
  return { witness, store };
}

describe("a witness of a log family", () => {
  it("cosigns a shard's checkpoints once its certificate verified, with consistency per shard", async () => {
    const { witness, store } = newWitness();
    const log = shardLog(1).append(5);
    const first = log.checkpoint();
    const a = await witness.addCheckpoint(formatAddCheckpointRequest(0, [], first), {
      shardCertificate: certificate(1),
    });
    expect(a.status).toBe(200);
    expect(
      verifyCosignatures(addSignatureLines(first, [a.body]), [witnessKeys.verifierKey]),
    ).toMatchObject([{ verified: true }]);
    expect((await store.latest(`${FAMILY}/s1`))?.size).toBe(5);
    // next checkpoints of that shard: the certified key is remembered
    log.append(3);
    const b = await witness.addCheckpoint(
      formatAddCheckpointRequest(5, log.proof(5), log.checkpoint()),
    );
    expect(b.status).toBe(200);
    // the shard's own history: a fork of it is refused as any log's would be
    const fork = shardLog(1).append(8, "other");
    const c = await witness.addCheckpoint(formatAddCheckpointRequest(8, [], fork.checkpoint()));
    expect(c).toMatchObject({ status: 409, code: "WITNESS_SIZE_CONFLICT" });
  });

  it("refuses a shard without a certificate, with one of another family or origin, and a checkpoint by another key", async () => {
    const { witness, store } = newWitness();
    const log = shardLog(2).append(4);
    const request = formatAddCheckpointRequest(0, [], log.checkpoint());
    expect(await witness.addCheckpoint(request)).toMatchObject({
      status: 404,
      code: "WITNESS_UNKNOWN_LOG",
    });
    const other = generateNoteKey(FAMILY, new Uint8Array(32).fill(63)); // same name, not the family key
    expect(
      await witness.addCheckpoint(request, { shardCertificate: certificate(2, other.signerKey) }),
    ).toMatchObject({ status: 403, code: "WITNESS_SIGNATURE_INVALID" });
    expect(
      await witness.addCheckpoint(request, { shardCertificate: certificate(3) }),
    ).toMatchObject({ status: 403, code: "WITNESS_SIGNATURE_INVALID" });
    // a valid certificate, but the checkpoint is signed by a key it does not certify
    const rogue = shardLog(2, generateNoteKey(`${FAMILY}/s2`, new Uint8Array(32).fill(64))).append(
      4,
    );
    expect(
      await witness.addCheckpoint(formatAddCheckpointRequest(0, [], rogue.checkpoint()), {
        shardCertificate: certificate(2),
      }),
    ).toMatchObject({ status: 403, code: "WITNESS_SIGNATURE_INVALID" });
    // origins that are no shard of the family
    for (const origin of [
      `${FAMILY}/s0`,
      `${FAMILY}/s01`,
      `${FAMILY}/x1`,
      "chaoscore.test/other/s1",
    ]) {
      const l = new MemoryLog(origin).append(1);
      expect(
        await witness.addCheckpoint(formatAddCheckpointRequest(0, [], l.checkpoint()), {
          shardCertificate: certificate(2),
        }),
      ).toMatchObject({ status: 404, code: "WITNESS_UNKNOWN_LOG" });
    }
    expect(await store.latest(`${FAMILY}/s2`)).toBeUndefined(); // nothing stored
  });

  describe("over HTTP", () => {
    let server: WitnessServer | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    it("takes the certificate in the ChaosCore-Shard-Certificate header (base64)", async () => {
      const { witness } = newWitness();
      server = await serveWitness(witness);
      const log = shardLog(1).append(3);
      const post = (headers: Record<string, string>) =>
        fetch(`${server?.url}/add-checkpoint`, {
          method: "POST",
          headers: { "content-type": "text/plain", ...headers },
          body: formatAddCheckpointRequest(0, [], log.checkpoint()),
        });
      expect((await post({})).status).toBe(404);
      expect((await post({ [SHARD_CERTIFICATE_HEADER]: "not base64!" })).status).toBe(400);
      const ok = await post({
        [SHARD_CERTIFICATE_HEADER]: Buffer.from(certificate(1)).toString("base64"),
      });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toMatch(/^— witness\.test\/shards /);
    });
  });
});
