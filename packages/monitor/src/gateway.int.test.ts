/**
 * The monitor against the real gateway (in process, on a loopback port, over
 * PGlite or DATABASE_URL): a clean log passes, pass after pass. (Forks,
 * rollbacks and tampered tiles are served by the fake log of monitor.int.test.ts.)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TRUST_POLICY_FORMAT } from "@chaoscore/core";
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { monitorLogWithStateFile } from "./monitor.js";

let g: Awaited<ReturnType<typeof openTestGateway>>;
let url: string;
let dir: string;

beforeAll(async () => {
  g = await openTestGateway();
  url = await g.app.listen({ port: 0, host: "127.0.0.1" });
  dir = await mkdtemp(join(tmpdir(), "chaoscore-monitor-gw-"));
});
afterAll(async () => {
  await g.close();
  await rm(dir, { recursive: true, force: true });
});

describe("monitorLog against the gateway", () => {
  it("follows a clean log through tlog-tiles, pass after pass", async () => {
    const policy = { format: TRUST_POLICY_FORMAT, log: { key: g.engine.log.verifierKey } };
    const statePath = join(dir, "state.json");
    const agent = await g.newAgent();
    for (let i = 0; i < 5; i++) await g.engine.agency.recordAction(agent.action());
    const first = await monitorLogWithStateFile({ gateway: url, policy, statePath });
    expect(first.findings).toEqual([]);
    expect(first.checkpoint?.size).toBe(5);

    for (let i = 0; i < 3; i++) await g.engine.agency.recordAction(agent.action());
    const second = await monitorLogWithStateFile({ gateway: url, policy, statePath });
    expect(second.findings).toEqual([]);
    expect(second).toMatchObject({ previousSize: 5, newEntries: 3, advanced: true });
    const third = await monitorLogWithStateFile({ gateway: url, policy, statePath });
    expect(third).toMatchObject({ findings: [], newEntries: 0, advanced: false });
  });
});
