import {
  addSignatureLines,
  formatAddCheckpointRequest,
  generateNoteKey,
  generateWitnessKey,
  verifyCosignatures,
} from "@chaoscore/core";
import { PostgresDb } from "@chaoscore/log/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryLog } from "./test-support/memory-log.js";
import { parseWitnessedLog, Witness } from "./witness.js";
import { openWitnessStore, type WitnessStore } from "./witness-store.js";

const keys = generateWitnessKey("witness.test/w1");
let store: WitnessStore;

beforeAll(async () => {
  store = await openWitnessStore({
    databaseUrl: process.env.DATABASE_URL,
    dataDir: ":memory:",
    schema: `witness_test_${process.pid}`,
  });
});
afterAll(async () => {
  await store.close();
  if (process.env.DATABASE_URL) {
    const db = await PostgresDb.open(process.env.DATABASE_URL);
    await db.exec(`DROP SCHEMA IF EXISTS witness_test_${process.pid} CASCADE`);
    await db.close();
  }
});

function witnessFor(log: MemoryLog, now = () => 1_700_000_000): Witness {
  return new Witness({
    signerKey: keys.signerKey,
    logs: [{ origin: log.origin, verifierKey: log.verifierKey }],
    store,
    now,
  });
}

let n = 0;
const newLog = () => new MemoryLog(`chaoscore.test/log${n++}`);

describe("Witness.addCheckpoint", () => {
  it("cosigns a first checkpoint from old 0, then extensions with a proof", async () => {
    const log = newLog().append(5);
    const witness = witnessFor(log);
    const first = log.checkpoint();
    const a = await witness.addCheckpoint(formatAddCheckpointRequest(0, [], first));
    expect(a.status).toBe(200);
    expect(
      verifyCosignatures(addSignatureLines(first, [a.body]), [keys.verifierKey]),
    ).toMatchObject([{ name: "witness.test/w1", timestamp: 1_700_000_000, verified: true }]);
    log.append(7);
    const second = log.checkpoint();
    const b = await witness.addCheckpoint(formatAddCheckpointRequest(5, log.proof(5), second));
    expect(b.status).toBe(200);
    expect((await store.latest(log.origin))?.size).toBe(12);
    // The same checkpoint again (same size, same root) is cosigned again.
    const c = await witness.addCheckpoint(formatAddCheckpointRequest(12, [], second));
    expect(c.status).toBe(200);
  });

  it("answers 409 with its size (text/x.tlog.size) when the old size is not the one it holds", async () => {
    const log = newLog().append(3);
    const witness = witnessFor(log);
    await witness.addCheckpoint(formatAddCheckpointRequest(0, [], log.checkpoint()));
    log.append(2);
    const answer = await witness.addCheckpoint(formatAddCheckpointRequest(0, [], log.checkpoint()));
    expect(answer).toMatchObject({ status: 409, contentType: "text/x.tlog.size", body: "3\n" });
    const wrong = await witness.addCheckpoint(
      formatAddCheckpointRequest(2, log.proof(2), log.checkpoint()),
    );
    expect(wrong).toMatchObject({ status: 409, body: "3\n" });
    expect((await store.latest(log.origin))?.size).toBe(3);
  });

  it("refuses unknown origins (404), bad signatures (403), bad proofs (422), malformed bodies (400); stores nothing", async () => {
    const log = newLog().append(4);
    const witness = witnessFor(log);
    const other = new MemoryLog("chaoscore.test/elsewhere").append(4);
    expect(
      (await witness.addCheckpoint(formatAddCheckpointRequest(0, [], other.checkpoint()))).status,
    ).toBe(404);
    const impostor = new MemoryLog(log.origin, generateNoteKey(log.origin)).append(4);
    expect(
      (await witness.addCheckpoint(formatAddCheckpointRequest(0, [], impostor.checkpoint())))
        .status,
    ).toBe(403);
    expect(await store.latest(log.origin)).toBeUndefined();
    for (const body of [
      "",
      "old 0\n",
      "old 01\n\nx",
      "new 0\n\nx",
      `old 0\nnot base64\n\n${log.checkpoint()}`,
      `old 0\n${Buffer.alloc(31).toString("base64")}\n\n${log.checkpoint()}`,
      `old 0\n\n${log.checkpoint().replace("\n\n", "\n")}`,
      `old 5\n\n${log.checkpoint()}`,
      `old 0\n${Buffer.alloc(32).toString("base64")}\n\n${log.checkpoint()}`,
      Uint8Array.of(0xff, 0xfe),
    ]) {
      const answer = await witness.addCheckpoint(body);
      expect({ body, status: answer.status }).toEqual({ body, status: 400 });
    }
    expect(await store.latest(log.origin)).toBeUndefined();
    await witness.addCheckpoint(formatAddCheckpointRequest(0, [], log.checkpoint()));
    log.append(3);
    const badProof = log.proof(4);
    badProof[0] = new Uint8Array(32);
    const answer = await witness.addCheckpoint(
      formatAddCheckpointRequest(4, badProof, log.checkpoint()),
    );
    expect(answer).toMatchObject({ status: 422, code: "WITNESS_PROOF_INVALID" });
    expect((await store.latest(log.origin))?.size).toBe(4);
  });

  it("refuses a fork: a second tree from the same prefix, after cosigning the first", async () => {
    const base = newLog().append(6);
    const witness = witnessFor(base);
    await witness.addCheckpoint(formatAddCheckpointRequest(0, [], base.checkpoint()));
    const left = base.fork().append(4, "left");
    const right = base.fork().append(4, "right");
    expect(
      (await witness.addCheckpoint(formatAddCheckpointRequest(6, left.proof(6), left.checkpoint())))
        .status,
    ).toBe(200);
    // The other branch, same size: 409 (another root for the size it holds)…
    expect(
      (await witness.addCheckpoint(formatAddCheckpointRequest(10, [], right.checkpoint()))).status,
    ).toBe(409);
    // … and grown past it, with a proof from the shared prefix: 409 (old size), then 422.
    right.append(2, "right2");
    expect(
      (
        await witness.addCheckpoint(
          formatAddCheckpointRequest(6, right.proof(6), right.checkpoint()),
        )
      ).status,
    ).toBe(409);
    expect(
      (
        await witness.addCheckpoint(
          formatAddCheckpointRequest(10, right.proof(10), right.checkpoint()),
        )
      ).status,
    ).toBe(422);
    expect((await store.latest(base.origin))?.rootHash).toEqual(left.root());
  });

  it("serializes concurrent submissions: of two checkpoints from one old size, one is cosigned", async () => {
    const base = newLog().append(2);
    const witness = witnessFor(base);
    await witness.addCheckpoint(formatAddCheckpointRequest(0, [], base.checkpoint()));
    const a = base.fork().append(3, "a");
    const b = base.fork().append(5, "b");
    const answers = await Promise.all([
      witness.addCheckpoint(formatAddCheckpointRequest(2, a.proof(2), a.checkpoint())),
      witness.addCheckpoint(formatAddCheckpointRequest(2, b.proof(2), b.checkpoint())),
    ]);
    expect(answers.map((x) => x.status).sort()).toEqual([200, 409]);
  });
});

describe("two witness processes on one store", () => {
  it("a stale in-process view never cosigns a fork: the compare-and-swap fails and the answer is 409", async () => {
    const base = newLog().append(3);
    const a = witnessFor(base);
    const b = witnessFor(base);
    await a.addCheckpoint(formatAddCheckpointRequest(0, [], base.checkpoint()));
    // b reads the store at size 3 …
    expect(
      (await b.addCheckpoint(formatAddCheckpointRequest(3, [], base.checkpoint()))).status,
    ).toBe(200);
    // … a moves on to one branch …
    const left = base.fork().append(2, "left");
    expect(
      (await a.addCheckpoint(formatAddCheckpointRequest(3, left.proof(3), left.checkpoint())))
        .status,
    ).toBe(200);
    // … and b, asked for the other branch from size 3, refuses it.
    const right = base.fork().append(1, "right");
    const answer = await b.addCheckpoint(
      formatAddCheckpointRequest(3, right.proof(3), right.checkpoint()),
    );
    expect(answer).toMatchObject({ status: 409, body: "5\n" });
    expect((await store.latest(base.origin))?.rootHash).toEqual(left.root());
  });
});

describe("parseWitnessedLog", () => {
  it("takes `<origin> <key>` or a key whose name is the origin", () => {
    const { verifierKey } = generateNoteKey("chaoscore.test/p");
    expect(parseWitnessedLog(verifierKey)).toEqual({ origin: "chaoscore.test/p", verifierKey });
    expect(parseWitnessedLog(`other.origin ${verifierKey}`)).toEqual({
      origin: "other.origin",
      verifierKey,
    });
    expect(() => parseWitnessedLog("nonsense")).toThrow();
  });
});
