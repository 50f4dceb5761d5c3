/**
 * The explorer's bundled verifier in real headless Chromium: it must agree
 * with every committed receipt and trust-policy vector, pin a trust policy
 * over what the server says, follow a shard's certificate and judge real TEE
 * evidence (over the seeded engine of test-support/explorer-harness.ts).
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHROMIUM,
  type ExplorerHarness,
  HAS_CHROMIUM,
  openExplorerHarness,
  VECTORS,
} from "./test-support/explorer-harness.js";

describe.skipIf(!HAS_CHROMIUM)(
  `the explorer's verifier in headless Chromium${HAS_CHROMIUM ? "" : ` (skipped: ${CHROMIUM} is absent)`}`,
  () => {
    let x: ExplorerHarness;
    let page: Page;
    let web: string;
    let submitAction: string;
    beforeAll(async () => {
      x = await openExplorerHarness();
      ({ page, web, submitAction } = x);
      // The bundled verifier (globalThis.chaoscoreExplorer) is there once the app has loaded.
      await page.goto(`${web}/explorer`);
      await x.ready("/explorer");
    }, 120_000);
    afterAll(() => x?.close());
    const ready = (path: string) => x.ready(path);

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
        JSON.stringify({ format: "chaoscore.trust-policy/v1", log: { key: x.h.verifierKey } }),
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
  },
);
