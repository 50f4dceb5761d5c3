/**
 * The gateway's stored anchor directory serves only anchors in the deployment's own chain and
 * CheckpointAnchor contract (issue 19 item 1): a row for another contract (an operator's own,
 * holding a forked history) or another chain never reaches /v1/log/anchors or a receipt.
 */

import { CHAIN_ID, openTestEngine } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGateway, type GatewayApp, gatewayServices } from "./index.js";

const TRUSTED = `0x${"cd".repeat(20)}`;
const OTHER = `0x${"ef".repeat(20)}`;

describe("gatewayServices anchors", () => {
  let h: Awaited<ReturnType<typeof openTestEngine>>;
  let app: GatewayApp;
  let action: string;

  beforeAll(async () => {
    h = await openTestEngine();
    const agent = await h.newAgent(["search"]);
    action = (await h.engine.agency.recordAction(agent.action())).id;
    await h.engine.agency.recordAction(agent.action());
    const services = gatewayServices({
      engine: h.engine,
      chainId: CHAIN_ID,
      anchorContract: TRUSTED,
    });
    if (services.anchors === undefined) throw new Error("no anchor directory");
    h.engine.agency.setAnchorDirectory(services.anchors);
    app = await buildGateway({ ...services, logger: false });
    const one = await h.engine.log.checkpoint();
    const insert = (size: number, chainId: string, contract: string, tx: string) =>
      h.engine.db.query(
        `INSERT INTO anchors (log_id, size, root, chain_id, contract, anchor_index, tx_hash,
           block_number, status, attempts, created_at, updated_at)
         VALUES ($1, $2, decode($3, 'hex'), $4, $5, 0, $6, 42, 'final', 1, now(), now())`,
        [h.engine.log.id, size, Buffer.from(one.rootHash).toString("hex"), chainId, contract, tx],
      );
    await insert(one.size, CHAIN_ID.toString(), TRUSTED, `0x${"01".repeat(32)}`);
    await insert(one.size, CHAIN_ID.toString(), OTHER, `0x${"02".repeat(32)}`);
    await insert(one.size, "1", TRUSTED, `0x${"03".repeat(32)}`);
  });

  afterAll(async () => {
    await app?.close();
    await h?.close();
  });

  it("lists only the deployment's anchors", async () => {
    const res = await app.inject({ method: "GET", url: "/v1/log/anchors" });
    expect(res.statusCode).toBe(200);
    const items = res.json<{ items: { chainId: string; contract: string }[] }>().items;
    expect(items.map((a) => [a.chainId, a.contract])).toEqual([[CHAIN_ID.toString(), TRUSTED]]);
  });

  it("puts only the deployment's anchor in receipts", async () => {
    const res = await app.inject({ method: "GET", url: `/v1/actions/${action}/receipt` });
    expect(res.statusCode).toBe(200);
    const receipt = res.json<{ anchor: { contract: string; txHash: string } | null }>();
    expect(receipt.anchor).toMatchObject({ contract: TRUSTED, txHash: `0x${"01".repeat(32)}` });
  });
});
