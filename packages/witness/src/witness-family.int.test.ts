/**
 * A log family end to end with a witness that follows only the family key:
 * the engine rotates to shard 1 (every 4 leaves), the log's witnessing client
 * sends shard 1's checkpoint with the shard's certificate, the witness
 * cosigns it, and a receipt of shard 1 then meets a trust policy that pins the
 * family key and this witness (quorum 1).
 */
import { generateWitnessKey, TRUST_POLICY_FORMAT, verifyReceiptWithPolicy } from "@chaoscore/core";
import { FamilyWitnessingService, WitnessingService } from "@chaoscore/log";
import { openTestEngine } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryWitnessStore } from "./memory-witness-store.js";
import { serveWitness, type WitnessServer } from "./server.js";
import { Witness } from "./witness.js";

let h: Awaited<ReturnType<typeof openTestEngine>>;
let server: WitnessServer;
const keys = generateWitnessKey("witness.test/family", new Uint8Array(32).fill(65));

beforeAll(async () => {
  h = await openTestEngine({ shards: { maxEntries: 4 } });
  const witness = new Witness({
    signerKey: keys.signerKey,
    logs: [{ origin: h.engine.log.origin, verifierKey: h.verifierKey }],
    store: new MemoryWitnessStore(),
  });
  server = await serveWitness(witness);
});
afterAll(async () => {
  await server.close();
  await h.close();
});

describe("a witness of the family key", () => {
  it("cosigns shard 1's checkpoint sent with its certificate; the shard's receipt meets the quorum", async () => {
    const agent = await h.newAgent();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await h.engine.agency.recordAction(agent.action())).id);
    const [, s1] = await h.engine.logs.list();
    expect(s1?.id).toBe("default-s1");
    const shard = await h.engine.logs.get("default-s1");
    const cp = await shard.checkpoint();
    const witnesses = [{ url: server.url, verifierKey: keys.verifierKey }];

    // without the certificate the witness does not know the shard
    const blind = new WitnessingService({ log: shard, witnesses, timeoutMs: 2000 });
    expect((await blind.witness(cp)).map((o) => [o.status, o.code])).toEqual([
      ["refused", "WITNESS_UNKNOWN_LOG"],
    ]);
    const service = new WitnessingService({
      log: shard,
      witnesses,
      shardCertificate: s1?.certificate as string,
    });
    expect((await service.witness(cp)).map((o) => o.status)).toEqual(["cosigned"]);

    const receipt = await h.engine.agency.getReceipt(ids[5] as string);
    const policy = {
      format: TRUST_POLICY_FORMAT,
      log: { key: h.verifierKey },
      witnesses: { keys: [keys.verifierKey], quorum: 1 },
    };
    const verified = verifyReceiptWithPolicy(receipt, policy);
    expect(verified.shard?.number).toBe(1);
    expect(verified.witnesses).toMatchObject({ required: 1, verified: 1 });
  });

  it("FamilyWitnessingService brings every shard to the witness, then retires the frozen ones", async () => {
    const agent = await h.newAgent();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await h.engine.agency.recordAction(agent.action())).id);
    await (await h.engine.logs.active()).checkpoint();
    const shards = await h.engine.logs.list();
    expect(shards.length).toBeGreaterThanOrEqual(3);
    expect(shards.map((s) => s.state)).toEqual([...shards.slice(1).map(() => "frozen"), "active"]);
    const family = new FamilyWitnessingService({
      logs: h.engine.logs,
      witnesses: [{ url: server.url, verifierKey: keys.verifierKey }],
    });
    const first = await family.catchUp();
    // one offer per shard (shard 1 was cosigned by the first test at an earlier size: its final one now)
    expect(first.map((o) => o.status)).toEqual(shards.map(() => "cosigned"));
    const policy = {
      format: TRUST_POLICY_FORMAT,
      log: { key: h.verifierKey },
      witnesses: { keys: [keys.verifierKey], quorum: 1 },
    };
    for (const id of ids) {
      const receipt = await h.engine.agency.getReceipt(id);
      expect(verifyReceiptWithPolicy(receipt, policy).witnesses.verified).toBe(1);
    }
    // nothing new: no request; the frozen shards are retired, the active one has its cosignature
    expect(await family.catchUp()).toEqual([]);
    await family.stop();
  });
});
