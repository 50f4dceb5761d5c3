/**
 * The explorer in real headless Chromium: pages navigated by clicking from the
 * overview to agents, actions, receipts, checkpoints, studios and search,
 * over a seeded engine (test-support/explorer-harness.ts). The bundled
 * verifier's vectors and trust policies are in explorer-verifier.int.test.ts.
 */
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHROMIUM,
  EXPLORER_URL,
  type ExplorerHarness,
  HAS_CHROMIUM,
  openExplorerHarness,
  TX_HASH,
} from "./test-support/explorer-harness.js";

if (!HAS_CHROMIUM) {
  console.warn(
    `explorer tests SKIPPED: ${CHROMIUM} is absent (apt-get install -y chromium; CI installs it)`,
  );
}

describe.skipIf(!HAS_CHROMIUM)(
  `explorer in headless Chromium${HAS_CHROMIUM ? "" : ` (skipped: ${CHROMIUM} is absent)`}`,
  () => {
    let x: ExplorerHarness;
    let page: Page;
    let base: string;
    let web: string;
    let voter: string;
    let submitAction: string;
    let submitLeaf: number;
    let httpAction: string;
    let epochs: number;
    beforeAll(async () => {
      x = await openExplorerHarness();
      ({ page, base, web, voter, submitAction, submitLeaf, httpAction, epochs } = x);
    }, 120_000);
    afterAll(() => x?.close());
    const ready = (path: string) => x.ready(path);

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
      expect(x.pageErrors).toEqual([]);
    });
  },
);
