import {
  consistencyProofPlan,
  cosignCheckpoint,
  generateNoteKey,
  generateWitnessKey,
  leafHash,
  parseAddCheckpointRequest,
  parseCheckpoint,
  resolveProof,
  rootFromLeafHashes,
  signCheckpoint,
  verifyConsistency,
} from "@chaoscore/core";
import { describe, expect, it } from "vitest";
import type { StoredCheckpoint, TransparencyLog } from "./transparency-log.js";
import { parseWitnessEndpoint, WitnessingService } from "./witnessing.js";

const origin = "chaoscore.test/witnessing";
const logKey = generateNoteKey(origin);
const w1 = generateWitnessKey("witness.test/w1");

/** A log of `size` leaves with what WitnessingService uses of TransparencyLog. */
function fakeLog(size: number) {
  const leaves = Array.from({ length: size }, (_, i) => leafHash(Uint8Array.of(i)));
  const root = (n: number) => rootFromLeafHashes(leaves.slice(0, n));
  const stored: { size: number; witness: string; line: string }[] = [];
  const cp = (n: number): StoredCheckpoint => ({
    size: n,
    rootHash: root(n),
    note: signCheckpoint({ origin, size: n, rootHash: root(n), extensions: [] }, logKey.signerKey),
    createdAt: new Date(0).toISOString(),
  });
  const log = {
    origin,
    async consistencyProof(from: number, to: number) {
      return resolveProof(consistencyProofPlan(from, to), (level, index) =>
        rootFromLeafHashes(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level)),
      );
    },
    async addCosignatures(n: number, c: readonly { witness: string; line: string }[]) {
      for (const x of c) stored.push({ size: n, ...x });
    },
    async latestCheckpoint() {
      return cp(size);
    },
    async cosigners(n: number) {
      return stored.filter((s) => s.size === n).map((s) => s.witness);
    },
    onCheckpoint() {
      return () => {};
    },
  };
  return { log: log as unknown as TransparencyLog, stored, cp, root };
}

/** A fetch that answers with `handler(request body)`, counting calls. */
function fakeFetch(handler: (body: string) => Response | Promise<Response>) {
  const calls: string[] = [];
  const fn = (async (_url: string, init: RequestInit) => {
    const body = String(init.body);
    calls.push(body);
    return handler(body);
  }) as unknown as typeof fetch;
  return { fn, calls };
}

const endpoint = { url: "http://witness.test", verifierKey: w1.verifierKey };

describe("WitnessingService.witness", () => {
  it("resends from the witness's size after a 409, with the consistency proof from it", async () => {
    const { log, stored, cp, root } = fakeLog(12);
    const f = fakeFetch((body) => {
      const req = parseAddCheckpointRequest(body);
      if (req.oldSize !== 5) {
        return new Response("5\n", {
          status: 409,
          headers: { "content-type": "text/x.tlog.size" },
        });
      }
      const { size, rootHash } = parseCheckpoint(
        req.checkpoint.slice(0, req.checkpoint.indexOf("\n\n") + 1),
      );
      verifyConsistency(5, size, req.proof, root(5), rootHash);
      return new Response(cosignCheckpoint(req.checkpoint, w1.signerKey, 1_700_000_000));
    });
    const service = new WitnessingService({ log, witnesses: [endpoint], fetch: f.fn });
    const [outcome] = await service.witness(cp(12));
    expect(outcome).toMatchObject({ status: "cosigned", size: 12 });
    expect(f.calls.map((b) => b.split("\n")[0])).toEqual(["old 0", "old 5"]);
    expect(stored).toHaveLength(1);
    expect(stored[0]?.witness).toBe(`witness.test/w1+${w1.verifierKey.split("+")[1]}`);
    // A witness that answers 409 with the very size it was sent holds another root: refused.
    const f2 = fakeFetch(() => new Response("12\n", { status: 409 }));
    const again = new WitnessingService({ log, witnesses: [endpoint], fetch: f2.fn });
    expect((await again.witness(cp(12)))[0]?.status).toBe("refused");
  });

  it("retries an unreachable witness until the time limit, then reports WITNESS_UNAVAILABLE and stores nothing", async () => {
    const { log, stored, cp } = fakeLog(4);
    const f = fakeFetch(() => {
      throw new TypeError("fetch failed");
    });
    const service = new WitnessingService({
      log,
      witnesses: [endpoint],
      fetch: f.fn,
      timeoutMs: 200,
      retryDelayMs: 10,
    });
    const [outcome] = await service.witness(cp(4));
    expect(outcome).toMatchObject({ status: "unavailable", code: "WITNESS_UNAVAILABLE" });
    expect(f.calls.length).toBeGreaterThan(1);
    expect(stored).toEqual([]);
  });

  it("refuses an answer whose cosignature is not by the witness's key, storing nothing", async () => {
    const { log, stored, cp } = fakeLog(3);
    const other = generateWitnessKey("witness.test/w1");
    const f = fakeFetch(
      (body) =>
        new Response(
          cosignCheckpoint(parseAddCheckpointRequest(body).checkpoint, other.signerKey, 1),
        ),
    );
    const service = new WitnessingService({ log, witnesses: [endpoint], fetch: f.fn });
    expect((await service.witness(cp(3)))[0]).toMatchObject({ status: "refused", httpStatus: 200 });
    expect(stored).toEqual([]);
  });

  it("reports a witness holding a larger checkpoint as superseded, and a 422 as WITNESS_PROOF_INVALID", async () => {
    const { log, cp } = fakeLog(6);
    const ahead = fakeFetch(() => new Response("9\n", { status: 409 }));
    const s1 = new WitnessingService({ log, witnesses: [endpoint], fetch: ahead.fn });
    expect((await s1.witness(cp(6)))[0]?.status).toBe("superseded");
    const fork = fakeFetch(() => new Response("WITNESS_PROOF_INVALID\n", { status: 422 }));
    const s2 = new WitnessingService({ log, witnesses: [endpoint], fetch: fork.fn });
    expect((await s2.witness(cp(6)))[0]).toMatchObject({
      status: "refused",
      code: "WITNESS_PROOF_INVALID",
    });
  });

  it("catchUp offers the latest checkpoint only to witnesses that have not cosigned it", async () => {
    const { log, cp } = fakeLog(2);
    const f = fakeFetch(
      (body) =>
        new Response(cosignCheckpoint(parseAddCheckpointRequest(body).checkpoint, w1.signerKey, 1)),
    );
    const service = new WitnessingService({ log, witnesses: [endpoint], fetch: f.fn });
    expect((await service.catchUp()).map((o) => o.status)).toEqual(["cosigned"]);
    expect(await service.catchUp()).toEqual([]);
    expect(f.calls).toHaveLength(1);
    expect(cp(2).size).toBe(2);
  });
});

describe("parseWitnessEndpoint", () => {
  it("takes <url>=<verifier key> and refuses anything else", () => {
    expect(parseWitnessEndpoint(`http://127.0.0.1:8790/=${w1.verifierKey}`)).toEqual({
      url: "http://127.0.0.1:8790",
      verifierKey: w1.verifierKey,
    });
    expect(() => parseWitnessEndpoint(w1.verifierKey)).toThrow();
    expect(() => parseWitnessEndpoint(`ftp://x=${w1.verifierKey}`)).toThrow();
    expect(() => parseWitnessEndpoint(`http://x=${logKey.verifierKey}`)).toThrow();
  });
});
