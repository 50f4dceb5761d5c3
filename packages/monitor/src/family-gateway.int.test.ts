/**
 * The family monitor against the real gateway (in process, PGlite or
 * DATABASE_URL) with shard rotation every 4 leaves: GET /v1/logs, each shard's
 * tiles under /v1/logs/<id>/, certificates and link entries made by the log
 * itself all check out, pass after pass, across rotations. And a receipt of a
 * shard, as the gateway serves it, verifies under a policy that pins only the
 * family key.
 */
import { TRUST_POLICY_FORMAT, verifyReceiptWithPolicy } from "@chaoscore/core";
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { monitorFamily } from "./family.js";

let g: Awaited<ReturnType<typeof openTestGateway>>;
let url: string;

beforeAll(async () => {
  g = await openTestGateway({}, { shards: { maxEntries: 4 } });
  url = await g.app.listen({ port: 0, host: "127.0.0.1" });
});
afterAll(async () => {
  await g.close();
});

async function record(agent: Awaited<ReturnType<typeof g.newAgent>>, n: number) {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await g.engine.agency.recordAction(agent.action())).id);
  await (await g.engine.logs.active()).checkpoint();
  return ids;
}

describe("monitorFamily against the gateway", () => {
  it("follows every shard and checks each link, across rotations", async () => {
    const policy = { format: TRUST_POLICY_FORMAT, log: { key: g.engine.log.verifierKey } };
    const agent = await g.newAgent();
    const ids = await record(agent, 6);
    const first = await monitorFamily({ gateway: url, policy });
    expect(first.findings).toEqual([]);
    expect(first.shards.map((s) => [s.id, s.state, s.result?.checkpoint?.size])).toEqual([
      ["default", "frozen", 4],
      ["default-s1", "active", 3],
    ]);
    expect(first.state.shards["default-s1"]?.linkChecked).toBe(true);

    await record(agent, 4);
    const second = await monitorFamily({ gateway: url, policy, state: first.state });
    expect(second.findings).toEqual([]);
    expect(second.shards.map((s) => [s.id, s.state])).toEqual([
      ["default", "frozen"],
      ["default-s1", "frozen"],
      ["default-s2", "active"],
    ]);
    expect(Object.values(second.state.shards).map((s) => s.linkChecked)).toEqual([
      false,
      true,
      true,
    ]);

    // the receipt of an action of shard 1, as served, under the family key only
    const response = await fetch(`${url}/v1/actions/${ids[5]}/receipt`);
    expect(response.status).toBe(200);
    const receipt = (await response.json()) as { checkpoint: string; shard?: string };
    expect(receipt.checkpoint.startsWith("chaoscore.test/log/default/s1\n")).toBe(true);
    expect(receipt.shard).toBeDefined();
    const verified = verifyReceiptWithPolicy(receipt, policy);
    expect(verified.shard).toMatchObject({ family: "chaoscore.test/log/default", number: 1 });
    const { shard: _omit, ...uncertified } = receipt;
    expect(() => verifyReceiptWithPolicy(uncertified, policy)).toThrow(
      expect.objectContaining({ code: "RECEIPT_SHARD_UNCERTIFIED" }),
    );
  });
});
