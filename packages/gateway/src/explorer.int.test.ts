/**
 * The explorer in real headless Chromium (playwright-core, Debian's
 * /usr/bin/chromium): a gateway over a seeded engine on a real port; pages
 * navigated by clicking; receipts verified in the browser by the bundled
 * verifier, which must also agree with every committed receipt vector.
 *
 * Past ~600 lines on purpose: every test shares one seeded engine, one gateway and
 * one Chromium (started once, ~3 s under load); split files would each start their own.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signAction } from "@chaoscore/core";
import { MockTeeProvider } from "@chaoscore/sandbox";
import { CHAIN_ID, FakeRewards, openTestEngine, runGovernanceProposal } from "@chaoscore/testkit";
import { type Browser, chromium, type Page } from "playwright-core";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyStore, buildGateway, type GatewayApp, gatewayServices } from "./index.js";

const CHROMIUM = "/usr/bin/chromium";
const HAS_CHROMIUM = existsSync(CHROMIUM);
if (!HAS_CHROMIUM) {
  console.warn(
    `explorer.int.test.ts SKIPPED: ${CHROMIUM} is absent (apt-get install -y chromium; CI installs it)`,
  );
}
const VECTORS = join(import.meta.dirname, "..", "..", "..", "vectors", "receipts");
const EXPLORER_URL = "https://otterscan.example";
const TX_HASH = `0x${"ab".repeat(32)}`;
// The browser reaches the gateway by a host name over plain HTTP, as on a
// staging box (not localhost, which browsers treat as secure).
const HOST = "explorer.test";

type Harness = Awaited<ReturnType<typeof openTestEngine>>;

// The browser sources (DOM, outside packages/*/src) have their own tsconfig;
// the root typecheck does not see them, so this test does.
describe("explorer sources", () => {
  it("typecheck with the DOM library (packages/gateway/explorer/tsconfig.json)", () => {
    const configPath = join(import.meta.dirname, "..", "explorer", "tsconfig.json");
    const config = ts.getParsedCommandLineOfConfigFile(
      configPath,
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
        },
      },
    );
    if (config === undefined) throw new Error("no explorer tsconfig");
    const program = ts.createProgram(config.fileNames, config.options);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file?.fileName.replace(/^.*packages\//, "packages/") ?? "";
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`;
    });
    expect(problems).toEqual([]);
  }, 60_000);
});

describe.skipIf(!HAS_CHROMIUM)(
  `explorer in headless Chromium${HAS_CHROMIUM ? "" : ` (skipped: ${CHROMIUM} is absent)`}`,
  () => {
    let h: Harness;
    let app: GatewayApp;
    let base: string;
    let web: string;
    let browser: Browser;
    let page: Page;
    let voter: string;
    let submitAction: string;
    let submitLeaf: number;
    let httpAction: string;
    let epochs: number;
    const pageErrors: string[] = [];

    beforeAll(async () => {
      const tee = MockTeeProvider.create();
      h = await openTestEngine({
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
      app = await buildGateway({
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

      base = await app.listen({ port: 0, host: "127.0.0.1" });
      web = base.replace("127.0.0.1", HOST);
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          "--headless=new",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-dev-shm-usage",
          `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
        ],
      });
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.setDefaultTimeout(20_000);
      page.on("pageerror", (error) => pageErrors.push(error.message));
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await app?.close();
      await h?.close();
    });

    /** Waits until the page at `path` (pathname) has rendered. */
    const ready = (path: string) =>
      page.waitForSelector(`main[data-state="ready"][data-path="${path}"]`);

    it("serves the app under the gateway's CSP, outside the OpenAPI document", async () => {
      const html = await fetch(`${base}/explorer/agents`);
      expect(html.status).toBe(200);
      expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8");
      const csp = html.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("default-src 'self'");
      // Over plain HTTP (not localhost) it would send the browser to https:// for app.js.
      expect(csp).not.toContain("upgrade-insecure-requests");
      expect(await html.text()).toContain('<script type="module" src="/explorer/app.js">');

      const js = await fetch(`${base}/explorer/app.js`);
      expect(js.status).toBe(200);
      expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
      const code = await js.text();
      expect(code).not.toContain("new Function");
      expect(code).not.toContain("WebAssembly");
      const etag = js.headers.get("etag") as string;
      const again = await fetch(`${base}/explorer/app.js`, { headers: { "if-none-match": etag } });
      expect(again.status).toBe(304);

      const missing = await fetch(`${base}/explorer/nothing.js`);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { code: string }).code).toBe("GATEWAY_ROUTE_NOT_FOUND");

      const openapi = (await (await fetch(`${base}/openapi.json`)).json()) as {
        paths: Record<string, unknown>;
      };
      expect(Object.keys(openapi.paths).filter((p) => p.startsWith("/explorer"))).toEqual([]);
    });

    it("goes from the overview to an agent, its reputation chart, an action and its verified receipt", async () => {
      await page.goto(`${web}/explorer`);
      await ready("/explorer");
      await page.click(`[data-testid="home-agents"] a[href="/explorer/agents/${voter}"]`);
      await ready(`/explorer/agents/${voter}`);
      expect(await page.textContent('[data-testid="agent-status"]')).toBe("active");

      // One point per epoch that scored the agent, drawn as SVG circles.
      const chart = page.locator('[data-testid="reputation-chart"] svg.chart');
      await chart.waitFor();
      expect(await chart.getAttribute("data-points")).toBe(String(epochs));
      expect(await chart.locator("circle.dot").count()).toBe(epochs);
      expect(await chart.locator("polyline.line").count()).toBe(1);

      await page.click(`[data-testid="agent-actions"] a[href="/explorer/actions/${submitAction}"]`);
      await ready(`/explorer/actions/${submitAction}`);
      expect(await page.textContent('[data-testid="leaf-index"]')).toBe(String(submitLeaf));

      await page.click("#verify-receipt");
      const verdict = page.locator('[data-testid="verdict"]');
      await verdict.waitFor();
      expect(await verdict.getAttribute("class")).toBe("verdict ok");
      expect(await verdict.getAttribute("data-leaf")).toBe(String(submitLeaf));
      const text = (await verdict.textContent()) ?? "";
      expect(text).toContain(`Receipt verified in your browser — leaf ${submitLeaf} of a tree of`);
      // The analysis was attested by the mock TEE whose root the gateway publishes.
      expect(text).toMatch(/Attestation\s*verified/);

      // One hex digit of the signature changed: the same verifier refuses it with its code.
      await page.click("#verify-tampered");
      await page.waitForSelector('[data-testid="verdict"][data-code="RECEIPT_SIGNATURE_INVALID"]');
      expect(await page.textContent('[data-testid="verdict"] .code')).toBe(
        "RECEIPT_SIGNATURE_INVALID",
      );
    });

    it("verifies a pasted receipt, and shows the code of a tampered one", async () => {
      const receipt = (await (await fetch(`${base}/v1/actions/${httpAction}/receipt`)).json()) as {
        payload?: unknown;
      };
      await page.goto(`${web}/explorer/verify`);
      await ready("/explorer/verify");
      await page.fill("#receipt-input", JSON.stringify(receipt));
      await page.click("#verify-pasted");
      await page.waitForSelector('[data-testid="verdict"].ok');

      receipt.payload = { tool: "search", query: "something else" };
      await page.fill("#receipt-input", JSON.stringify(receipt));
      await page.click("#verify-pasted");
      await page.waitForSelector('[data-testid="verdict"][data-code="RECEIPT_PAYLOAD_MISMATCH"]');
    });

    it("runs the bundled verifier on every committed receipt vector with the expected result", async () => {
      const logKey = (await readFile(join(VECTORS, "log-key.txt"), "utf8")).trim();
      const vectors = [];
      for (const name of (await readdir(VECTORS)).filter((n) => n.endsWith(".json")).sort()) {
        vectors.push({ name, ...JSON.parse(await readFile(join(VECTORS, name), "utf8")) });
      }
      expect(vectors.length).toBeGreaterThan(10);
      const results = await page.evaluate(
        ({ vectors, logKey }) => {
          const explorer = (
            globalThis as unknown as {
              chaoscoreExplorer: {
                verify(
                  r: unknown,
                  a: { verifierKey: string; trustedTeeRoots: readonly string[]; policy?: unknown },
                ): { ok: boolean; result?: unknown; code?: string };
              };
            }
          ).chaoscoreExplorer;
          return vectors.map(
            (v: {
              name: string;
              receipt: unknown;
              attestationRoots?: string[];
              attestationPolicy?: unknown;
            }) => ({
              name: v.name,
              // v3 vectors: real TEE evidence judged under a pinned policy's attestation member
              verdict: explorer.verify(v.receipt, {
                verifierKey: logKey,
                trustedTeeRoots: v.attestationRoots ?? [],
                ...(v.attestationPolicy === undefined
                  ? {}
                  : {
                      policy: {
                        format: "chaoscore.trust-policy/v1",
                        log: { key: logKey },
                        attestation: v.attestationPolicy,
                      },
                    }),
              }),
            }),
          );
        },
        { vectors, logKey },
      );
      for (const [i, v] of vectors.entries()) {
        const got = results[i]?.verdict;
        if (v.expected !== undefined && v.attestationPolicy !== undefined) {
          expect({ name: v.name, ...got }).toEqual({
            name: v.name,
            ok: true,
            result: { ...v.expected, witnesses: { required: 0, verified: 0, cosignatures: [] } },
            attestationPolicy: true,
            pinned: true,
          });
        } else if (v.expected !== undefined) {
          expect({ name: v.name, ...got }).toEqual({
            name: v.name,
            ok: true,
            result: v.expected,
            attestationPolicy: v.attestationRoots !== undefined,
          });
        } else {
          expect({ name: v.name, code: got?.code }).toEqual({
            name: v.name,
            code: v.expectedError,
          });
        }
      }
    });

    it("pins a trust policy in the browser, shows each cosignature, and trusts the policy over the server", async () => {
      const TRUST = join(VECTORS, "..", "trust-policy");
      const vector = async (name: string) =>
        JSON.parse(await readFile(join(TRUST, `${name}.json`), "utf8")) as {
          receipt: unknown;
          policy: Record<string, unknown>;
        };
      const good = await vector("receipt-valid-quorum-2-of-3");
      const badCosig = await vector("receipt-invalid-bad-cosignature");
      const stored = () =>
        page.evaluate(() =>
          // runs in the page: its localStorage (this file is typed without the DOM library)
          (
            globalThis as unknown as { localStorage: { getItem(k: string): string | null } }
          ).localStorage.getItem("chaoscore.explorer.trustPolicy"),
        );
      await page.goto(`${web}/explorer/verify`);
      await ready("/explorer/verify");

      // A policy without a log key is refused with its code, and nothing is stored.
      await page.fill("#policy-input", JSON.stringify({ format: "chaoscore.trust-policy/v1" }));
      await page.click("#pin-policy");
      await page.waitForSelector('[data-testid="policy-error"][data-code="TRUST_POLICY_NO_KEY"]');
      expect(await stored()).toBeNull();

      await page.fill("#policy-input", JSON.stringify(good.policy));
      await page.click("#pin-policy");
      await page.waitForSelector('[data-testid="pinned-policy"] [data-state="pinned"]');
      expect(JSON.parse((await stored()) ?? "null")).toEqual(good.policy);

      // A receipt cosigned by 2 of the 3 witnesses: each cosignature shown, verified.
      await page.fill("#receipt-input", JSON.stringify(good.receipt));
      await page.click("#verify-pasted");
      await page.waitForSelector('[data-testid="verdict"].ok [data-testid="witnesses"]');
      expect(await page.getAttribute('[data-testid="witnesses"]', "data-verified")).toBe("2");
      expect(await page.locator('[data-testid="cosignature"][data-verified="true"]').count()).toBe(
        2,
      );

      // One cosignature flipped: the quorum fails, and the page says which one.
      await page.fill("#receipt-input", JSON.stringify(badCosig.receipt));
      await page.click("#verify-pasted");
      await page.waitForSelector('[data-testid="verdict"][data-code="RECEIPT_WITNESS_QUORUM"]');
      expect(
        await page
          .locator('[data-testid="verdict"] [data-testid="cosignature"][data-verified="false"]')
          .getAttribute("data-witness"),
      ).toBe("witness2.vectors.chaoscore.dev");

      // Pinned across page loads; the action page uses the policy, not the server's key.
      await page.goto(`${web}/explorer/actions/${submitAction}`);
      await ready(`/explorer/actions/${submitAction}`);
      await page.waitForSelector('[data-testid="pinned-note"]');
      await page.click("#verify-receipt");
      await page.waitForSelector('[data-testid="verdict"][data-code="RECEIPT_CHECKPOINT_INVALID"]');

      // A policy naming this log's key (no witnesses): the same receipt verifies under it.
      await page.goto(`${web}/explorer/verify`);
      await ready("/explorer/verify");
      await page.fill(
        "#policy-input",
        JSON.stringify({ format: "chaoscore.trust-policy/v1", log: { key: h.verifierKey } }),
      );
      await page.click("#pin-policy");
      await page.goto(`${web}/explorer/actions/${submitAction}`);
      await ready(`/explorer/actions/${submitAction}`);
      await page.click("#verify-receipt");
      const verdict = page.locator('[data-testid="verdict"].ok');
      await verdict.waitFor();
      expect(await verdict.textContent()).toContain("the trust policy pinned in this browser");
      // The checkpoints page checks signatures (and witnesses) under the pinned policy too.
      await page.goto(`${web}/explorer/checkpoints`);
      await ready("/explorer/checkpoints");
      const witnesses = page.locator('[data-testid="checkpoint-witnesses"]').first();
      await witnesses.waitFor();
      expect(await witnesses.textContent()).toContain("✓ 0/0 witnesses");
      expect(
        await page.locator("table.checkpoints td:nth-child(4)").first().textContent(),
      ).toContain("✓ signed");

      await page.goto(`${web}/explorer/verify`);
      await ready("/explorer/verify");
      await page.click("#unpin-policy");
      await page.waitForSelector('[data-testid="pinned-policy"] [data-state="none"]');
      expect(await stored()).toBeNull();
    });

    it("shows the shard of a shard's receipt under a pinned family policy, and refuses one without its certificate", async () => {
      const TRUST = join(VECTORS, "..", "trust-policy");
      const vector = async (name: string) =>
        JSON.parse(await readFile(join(TRUST, `${name}.json`), "utf8")) as {
          receipt: unknown;
          policy: Record<string, unknown>;
        };
      const good = await vector("receipt-valid-shard");
      const uncertified = await vector("receipt-invalid-shard-uncertified");
      await page.goto(`${web}/explorer/verify`);
      await ready("/explorer/verify");
      await page.fill("#policy-input", JSON.stringify(good.policy));
      await page.click("#pin-policy");
      await page.waitForSelector('[data-testid="pinned-policy"] [data-state="pinned"]');

      await page.fill("#receipt-input", JSON.stringify(good.receipt));
      await page.click("#verify-pasted");
      const shard = page.locator('[data-testid="verdict"].ok [data-testid="shard"]');
      await shard.waitFor();
      expect(await shard.getAttribute("data-shard")).toBe("1");
      expect(await shard.textContent()).toContain(
        "shard 1 of the log family vectors.chaoscore.dev/log/trust-policy: its certificate verified",
      );
      expect(await page.locator('[data-testid="verdict"].ok').textContent()).toContain(
        "vectors.chaoscore.dev/log/trust-policy/s1, size 4",
      );

      await page.fill("#receipt-input", JSON.stringify(uncertified.receipt));
      await page.click("#verify-pasted");
      await page.waitForSelector('[data-testid="verdict"][data-code="RECEIPT_SHARD_UNCERTIFIED"]');

      // the checkpoints page's check: a shard's checkpoint under the family key and its certificate
      const checked = await page.evaluate(
        ({ note, key, certificate }) => {
          const explorer = (
            globalThis as unknown as {
              chaoscoreExplorer: {
                verifyCheckpointNote(n: string, k: string, c?: readonly string[]): unknown;
              };
            }
          ).chaoscoreExplorer;
          return [
            explorer.verifyCheckpointNote(note, key, [certificate]),
            explorer.verifyCheckpointNote(note, key),
          ];
        },
        {
          note: (good.receipt as { checkpoint: string }).checkpoint,
          key: (good.policy as { log: { key: string } }).log.key,
          certificate: (good.receipt as { shard: string }).shard,
        },
      );
      expect(checked).toEqual([
        { ok: true, size: 4, shard: 1 },
        { ok: false, code: "RECEIPT_SHARD_UNCERTIFIED" },
      ]);

      await page.click("#unpin-policy");
      await page.waitForSelector('[data-testid="pinned-policy"] [data-state="none"]');
    });

    it("judges real TEE evidence (receipt v3) under a pinned policy's attestation member", async () => {
      const logKey = (await readFile(join(VECTORS, "log-key.txt"), "utf8")).trim();
      const v = JSON.parse(await readFile(join(VECTORS, "valid-v3-tdx.json"), "utf8")) as {
        receipt: unknown;
        attestationPolicy: Record<string, unknown>;
      };
      const pin = async (attestation: Record<string, unknown>) => {
        await page.fill(
          "#policy-input",
          JSON.stringify({
            format: "chaoscore.trust-policy/v1",
            log: { key: logKey },
            attestation,
          }),
        );
        await page.click("#pin-policy");
        await page.waitForSelector('[data-testid="pinned-policy"] [data-state="pinned"]');
      };
      await page.goto(`${web}/explorer/verify`);
      await ready("/explorer/verify");
      await pin(v.attestationPolicy);
      await page.fill("#receipt-input", JSON.stringify(v.receipt));
      await page.click("#verify-pasted");
      const shown = page.locator(
        '[data-testid="verdict"].ok [data-testid="attestation"][data-platform="intel-tdx"]',
      );
      await shown.waitFor();
      expect(await shown.getAttribute("data-tcb-status")).toBe("NotSupported");
      expect(await shown.textContent()).toContain("rtmr3");
      // the default binding: public evidence names no agent of ours
      await pin({ tdx: { allowedTcbStatuses: ["UpToDate", "NotSupported"] } });
      await page.fill("#receipt-input", JSON.stringify(v.receipt));
      await page.click("#verify-pasted");
      await page.waitForSelector(
        '[data-testid="verdict"][data-code="RECEIPT_ATTESTATION_INVALID"]',
      );
      expect(await page.textContent('[data-testid="cause"]')).toBe("ATTESTATION_AGENT_MISMATCH");
      await page.click("#unpin-policy");
      await page.waitForSelector('[data-testid="pinned-policy"] [data-state="none"]');
    });

    it("runs the bundled verifier on every trust-policy receipt vector under its policy", async () => {
      const TRUST = join(VECTORS, "..", "trust-policy");
      const names = (await readdir(TRUST)).filter((n) => n.startsWith("receipt-")).sort();
      const vectors = [];
      for (const name of names) {
        vectors.push({ name, ...JSON.parse(await readFile(join(TRUST, name), "utf8")) });
      }
      expect(vectors.length).toBeGreaterThan(10);
      const results = await page.evaluate((vectors) => {
        const explorer = (
          globalThis as unknown as {
            chaoscoreExplorer: {
              verify(
                r: unknown,
                a: { verifierKey: string; trustedTeeRoots: readonly string[]; policy: unknown },
              ): { ok: boolean; result?: unknown; code?: string };
            };
          }
        ).chaoscoreExplorer;
        return vectors.map((v: { receipt: unknown; policy: unknown }) =>
          explorer.verify(v.receipt, { verifierKey: "", trustedTeeRoots: [], policy: v.policy }),
        );
      }, vectors);
      for (const [i, v] of vectors.entries()) {
        const got = results[i];
        if (v.expected !== undefined) {
          expect({ name: v.name, ok: got?.ok, result: got?.result }).toEqual({
            name: v.name,
            ok: true,
            result: v.expected,
          });
        } else {
          expect({ name: v.name, code: got?.code }).toEqual({
            name: v.name,
            code: v.expectedError,
          });
        }
      }
    });

    it("lists checkpoints with their signatures checked and anchors linked to the block explorer", async () => {
      await page.click('header nav a[href="/explorer/checkpoints"]');
      await ready("/explorer/checkpoints");
      const anchor = page.locator('[data-testid="anchor"]').first();
      await anchor.waitFor();
      expect(await anchor.locator(`a[href="${EXPLORER_URL}/tx/${TX_HASH}"]`).count()).toBe(1);
      expect(await anchor.textContent()).toContain("final");
      const signatures = await page.locator("table.checkpoints td:nth-child(4)").allTextContents();
      expect(signatures.length).toBeGreaterThan(0);
      expect(signatures.every((s) => s.includes("✓ signed"))).toBe(true);
    });

    it("walks studios, a proposal with its votes and tally, and an analysis task", async () => {
      await page.click('header nav a[href="/explorer/studios"]');
      await ready("/explorer/studios");
      await page.click('[data-testid="studios"] a[href="/explorer/studios/dao"]');
      await ready("/explorer/studios/dao");
      await page.click('[data-testid="proposals"] a[href="/explorer/studios/dao/proposals/p1"]');
      await ready("/explorer/studios/dao/proposals/p1");
      expect(await page.textContent('[data-testid="proposal-state"]')).toBe("executed");
      expect(await page.textContent('[data-testid="tally"]')).toContain("for 2 · against 0");

      const taskPath = `/explorer/studios/dao/tasks/${encodeURIComponent(`p1/${voter}`)}`;
      expect(taskPath).toContain("%2F");
      await page.click(`a[href="${taskPath}"]`);
      await ready(taskPath);
      expect(await page.textContent('[data-testid="task-state"]')).toBe("rewarded");
      expect(await page.locator(`a[href="/explorer/actions/${submitAction}"]`).count()).toBe(2);

      // Back and forward work like links.
      await page.goBack();
      await ready("/explorer/studios/dao/proposals/p1");
    });

    it("searches by agent, by action hash and by studio", async () => {
      const search = async (q: string) => {
        await page.fill('#search input[name="q"]', q);
        await page.press('#search input[name="q"]', "Enter");
        await page.waitForFunction((query) => {
          const g = globalThis as unknown as {
            location: { pathname: string; search: string };
            document: { querySelector(s: string): { dataset: { state?: string } } | null };
          };
          return (
            g.location.pathname === "/explorer/search" &&
            new URLSearchParams(g.location.search).get("q") === query &&
            g.document.querySelector("main")?.dataset.state === "ready"
          );
        }, q);
      };
      await search(voter);
      expect(
        await page.locator(`table.results a[href="/explorer/actions/${submitAction}"]`).count(),
      ).toBe(1);
      await search(httpAction);
      await page.click(`main a[href="/explorer/actions/${httpAction}"] >> nth=0`);
      await ready(`/explorer/actions/${httpAction}`);
      await search("dao");
      expect(await page.locator("table.results tbody tr").count()).toBeGreaterThan(10);
    });

    it("renders a screenshot and raised no page error", async () => {
      await page.goto(`${web}/explorer/agents/${voter}`);
      await ready(`/explorer/agents/${voter}`);
      await page.locator('[data-testid="reputation-chart"] svg.chart').waitFor();
      const dir = await mkdtemp(join(tmpdir(), "explorer-"));
      try {
        const file = join(dir, "agent.png");
        await page.screenshot({ path: file, fullPage: true });
        const bytes = await readFile(file);
        expect((await stat(file)).size).toBeGreaterThan(10_000);
        expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      expect(pageErrors).toEqual([]);
    });
  },
);
