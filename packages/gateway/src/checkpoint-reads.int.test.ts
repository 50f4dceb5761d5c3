/**
 * Issue 19, item 11: reads never write. Before the fix, an anonymous GET of
 * the checkpoint, a tile checkpoint, a search or a receipt locked the log's
 * row and inserted a newly signed checkpoint; now the writer publishes a
 * checkpoint with every batch and reads only read.
 */
import {
  cosignCheckpoint,
  generateWitnessKey,
  openCheckpoint,
  verifyCosignatures,
} from "@chaoscore/core";
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type G = Awaited<ReturnType<typeof openTestGateway>>;
let g: G;
let alice: Awaited<ReturnType<G["newAgent"]>>;

beforeAll(async () => {
  g = await openTestGateway();
  alice = await g.newAgent();
});
afterAll(async () => {
  await g?.close();
});

async function record(payload: unknown): Promise<string> {
  const r = await g.app.inject({
    method: "POST",
    url: "/v1/actions",
    headers: { "content-type": "application/json", ...g.bearer(g.admin) },
    payload: JSON.stringify(alice.action({ payload })),
  });
  expect(r.statusCode, r.body).toBe(201);
  return r.json().id as string;
}

describe("reads never write (issue 19, item 11)", () => {
  it("anonymous GETs of checkpoints, tiles, search and receipts insert no checkpoint", async () => {
    const id = await record({ n: 1 });
    // The writer published the batch's checkpoint with the batch.
    const size = await g.engine.log.size();
    expect((await g.engine.log.latestCheckpoint())?.size).toBe(size);
    const before = await g.rows();
    for (const url of [
      "/v1/log/checkpoint",
      "/log/checkpoint",
      `/v1/actions/${id}/receipt`,
      `/v1/search?q=${alice.address}`,
    ]) {
      const r = await g.app.inject({ method: "GET", url });
      expect({ url, status: r.statusCode }).toEqual({ url, status: 200 });
    }
    expect(await g.rows()).toEqual(before);
  });

  it("serves stored cosignatures after the log's signature at /log/checkpoint, /v1/log/checkpoint and in receipts", async () => {
    const id = await record({ n: "cosigned" });
    const cp = await g.engine.log.latestCheckpoint();
    const w = generateWitnessKey("witness.test/gw");
    const line = cosignCheckpoint(cp?.note ?? "", w.signerKey, 1_700_000_000);
    await g.engine.log.addCosignatures(cp?.size ?? 0, [{ witness: "witness.test/gw", line }]);
    const tiles = (await g.app.inject({ method: "GET", url: "/log/checkpoint" })).body;
    expect(tiles).toBe(`${cp?.note}${line}`);
    expect(verifyCosignatures(tiles, [w.verifierKey])).toMatchObject([{ verified: true }]);
    expect(openCheckpoint(tiles, g.engine.log.verifierKey).size).toBe(cp?.size);
    const v1 = (await g.app.inject({ method: "GET", url: "/v1/log/checkpoint" })).json();
    expect(v1.note).toBe(tiles);
    const receipt = (
      await g.app.inject({ method: "GET", url: `/v1/actions/${id}/receipt` })
    ).json();
    expect(receipt.checkpoint).toBe(tiles);
  });

  it("an entry no published checkpoint covers gets a retryable LOG_NOT_YET_CHECKPOINTED, and nothing is written", async () => {
    const id = await record({ n: 2 });
    const size = await g.engine.log.size();
    // As in a database written before the writer published checkpoints: drop the covering one.
    await g.engine.db.query("DELETE FROM log_checkpoints WHERE log_id = $1 AND size = $2", [
      g.engine.log.id,
      size,
    ]);
    const before = await g.rows();
    const receipt = await g.app.inject({ method: "GET", url: `/v1/actions/${id}/receipt` });
    expect(receipt.statusCode).toBe(503);
    expect(receipt.json()).toMatchObject({ code: "LOG_NOT_YET_CHECKPOINTED", retryable: true });
    expect(receipt.headers["retry-after"]).toBe("1");
    const note = (await g.app.inject({ method: "GET", url: "/log/checkpoint" })).body;
    expect(openCheckpoint(note, g.engine.log.verifierKey).size).toBeLessThan(size);
    expect(await g.rows()).toEqual(before);
    // The writer's next batch covers it again.
    await record({ n: 3 });
    const again = await g.app.inject({ method: "GET", url: `/v1/actions/${id}/receipt` });
    expect(again.statusCode).toBe(200);
  });
});
