// Consumer test (d): the verifier bundle (@chaoscore/core's verifyReceipt, bundled
// for the browser from the installed tarballs) verifies a receipt vector in headless
// Chromium, and refuses a tampered one with its code.
//   node browser-verify.mjs <bundle.js> <vectors/receipts dir> <playwright-core dir>
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [bundle, vectors, playwrightDir] = process.argv.slice(2);
const { chromium } = await import(pathToFileURL(join(playwrightDir, "index.mjs")).href);
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const code = readFileSync(bundle, "utf8");
const key = readFileSync(join(vectors, "log-key.txt"), "utf8").trim();
const receipt = (name) => JSON.parse(readFileSync(join(vectors, `${name}.json`), "utf8")).receipt;
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.setContent("<!doctype html><title>verifier</title>");
  // The bundle is an ES module: import it in the page as one (from a blob URL).
  await page.evaluate(async (source) => {
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    window.__verifier = await import(url);
  }, code);
  const run = (r) =>
    page.evaluate(
      ([r, k]) => {
        try {
          const v = window.__verifier.verifyReceipt(r, k);
          return { ok: true, leafIndex: v.leafIndex, treeSize: v.treeSize };
        } catch (e) {
          return { ok: false, code: e.code ?? String(e) };
        }
      },
      [r, key],
    );
  const good = await run(receipt("valid-action-outcome"));
  const bad = await run(receipt("tampered-action-signature"));
  console.log(
    `browser: valid-action-outcome ${JSON.stringify(good)}; tampered ${JSON.stringify(bad)}`,
  );
  if (errors.length > 0) throw new Error(`page errors: ${errors.join("; ")}`);
  if (!good.ok) throw new Error("the valid receipt did not verify in the browser");
  if (bad.ok || bad.code !== "RECEIPT_SIGNATURE_INVALID") {
    throw new Error("the tampered receipt was not refused with RECEIPT_SIGNATURE_INVALID");
  }
  console.log("BROWSER VERIFIER OK");
} finally {
  await browser.close();
}
