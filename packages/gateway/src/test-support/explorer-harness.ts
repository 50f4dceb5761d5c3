/**
 * The explorer's test harness: a seeded engine (a governance studio with two
 * proposals run end to end, an epoch after each, a plain action over HTTP, an
 * anchored checkpoint), a gateway on a real port, and headless Chromium
 * (playwright-core, Debian's /usr/bin/chromium) reaching it by a host name.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { signAction } from "@chaoscore/core";
import { MockTeeProvider } from "@chaoscore/sandbox";
import { CHAIN_ID, FakeRewards, openTestEngine, runGovernanceProposal } from "@chaoscore/testkit";
import { type Browser, chromium, type Page } from "playwright-core";
import { expect } from "vitest";
import { ApiKeyStore, buildGateway, type GatewayApp, gatewayServices } from "../index.js";

export const CHROMIUM = "/usr/bin/chromium";
export const HAS_CHROMIUM = existsSync(CHROMIUM);
/** The committed receipt vectors (vectors/receipts). */
export const VECTORS = join(import.meta.dirname, "..", "..", "..", "..", "vectors", "receipts");
export const EXPLORER_URL = "https://otterscan.example";
export const TX_HASH = `0x${"ab".repeat(32)}`;
// The browser reaches the gateway by a host name over plain HTTP, as on a
// staging box (not localhost, which browsers treat as secure).
const HOST = "explorer.test";

/** What the explorer tests read: the seeded engine, the gateway, the browser and the seeded ids. */
export type ExplorerHarness = {
  h: Awaited<ReturnType<typeof openTestEngine>>;
  app: GatewayApp;
  /** The gateway's URL on 127.0.0.1 (for fetch). */
  base: string;
  /** The same by host name (for the browser). */
  web: string;
  browser: Browser;
  page: Page;
  voter: string;
  submitAction: string;
  submitLeaf: number;
  httpAction: string;
  epochs: number;
  /** Errors the page raised. */
  pageErrors: string[];
  /** Waits until the page at `path` (pathname) has rendered. */
  ready(path: string): Promise<unknown>;
  close(): Promise<void>;
};

/** Seeds an engine, serves a gateway over it and opens a Chromium page. */
export async function openExplorerHarness(): Promise<ExplorerHarness> {
  let voter = "";
  let submitAction = "";
  let submitLeaf = 0;
  let httpAction = "";
  let epochs: number;
  const tee = MockTeeProvider.create();
  const h = await openTestEngine({
    attestation: { mode: "optional", trustedRoots: [tee.rootPublicKey] },
  });
  const operator = await h.newAgent(["governance"]);
  const evaluator = await h.newAgent(["evaluation"]);
  const agents = [await h.newAgent(["governance"]), await h.newAgent(["governance"])];
  const services = gatewayServices({
    engine: h.engine,
    chainId: CHAIN_ID,
    tee,
    rewards: new FakeRewards(),
    preTrusted: [evaluator.address],
    anchorContract: `0x${"cd".repeat(20)}`,
  });
  const app = await buildGateway({
    ...services,
    logger: false,
    chain: { ping: async () => 1, explorerUrl: EXPLORER_URL },
  });
  const studios = services.studios;
  const reputation = services.reputation;
  if (studios === undefined || reputation === undefined) throw new Error("no studios");

  // A governance studio: two proposals, each run end to end, with an epoch after each.
  await studios.governance.createStudio({
    id: "dao",
    name: "Mock DAO",
    operator: operator.address,
    dao: {
      treasury: 1_000_000,
      monthlyBurn: 20_000,
      parameters: { quorum: 0.5, votingPeriodSeconds: 3600, maxGrant: 200_000 },
      grantsPaid: 0,
    },
    rewardPolicy: { kind: "fixed", budget: "1000", amountPerSuccess: "100" },
  });
  await studios.studios.addMember("dao", evaluator.address, ["evaluator"]);
  for (const a of agents) await studios.studios.addMember("dao", a.address, ["agent"]);
  epochs = 0;
  for (const [i, amount] of [100_000, 10_000].entries()) {
    const run = await runGovernanceProposal(studios.governance, h.engine.agency, {
      studio: "dao",
      proposal: {
        id: `p${i + 1}`,
        title: `Grant ${i + 1}`,
        kind: "grant",
        recipient: `0x${"ab".repeat(20)}`,
        amount,
        purpose: "indexer maintenance",
      },
      operator,
      evaluator,
      agents: i === 0 ? agents : agents.map((a) => ({ ...a, vote: "against" as const })),
      provider: tee,
    });
    await reputation.runEpoch();
    epochs++;
    if (i === 0) {
      const mine = run.agents[0];
      if (mine === undefined) throw new Error("no agent run");
      voter = mine.agent;
      submitAction = mine.submitAction;
      submitLeaf = (await h.engine.agency.getAction(submitAction)).leafIndex;
    }
  }

  // A plain action recorded over HTTP with an operator key.
  const plain = await h.newAgent(["search"]);
  const { key } = await new ApiKeyStore(h.engine.db).create({ scopes: ["admin"] });
  const recorded = await app.inject({
    method: "POST",
    url: "/v1/actions",
    headers: { authorization: `Bearer ${key}` },
    payload: signAction({
      privateKey: plain.privateKey,
      chainId: CHAIN_ID,
      actionType: "tool.call",
      nonce: plain.nextNonce(),
      payload: { tool: "search", query: "ChaosCore" },
    }),
  });
  expect(recorded.statusCode).toBe(201);
  httpAction = recorded.json<{ id: string }>().id;

  // The latest checkpoint, anchored (a final anchor record, as the anchoring worker writes it).
  const cp = await h.engine.log.checkpoint();
  await h.engine.db.query(
    `INSERT INTO anchors (log_id, size, root, chain_id, contract, anchor_index, tx_hash,
         block_number, status, attempts, created_at, updated_at)
       VALUES ($1, $2, decode($3, 'hex'), '31337', $4, 0, $5, 42, 'final', 1, now(), now())`,
    [
      h.engine.log.id,
      cp.size,
      Buffer.from(cp.rootHash).toString("hex"),
      `0x${"cd".repeat(20)}`,
      TX_HASH,
    ],
  );

  const base = await app.listen({ port: 0, host: "127.0.0.1" });
  const web = base.replace("127.0.0.1", HOST);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(20_000);
  page.on("pageerror", (error) => pageErrors.push(error.message));
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  return {
    h,
    app,
    base,
    web,
    browser,
    page,
    voter,
    submitAction,
    submitLeaf,
    httpAction,
    epochs,
    pageErrors,
    ready: (path) => page.waitForSelector(`main[data-state="ready"][data-path="${path}"]`),
    close: async () => {
      await browser?.close();
      await app?.close();
      await h?.close();
    },
  };
}
