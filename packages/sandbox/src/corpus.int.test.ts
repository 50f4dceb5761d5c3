import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { getHeapStatistics } from "node:v8";
import { type AttestationQuote, type ErrorCode, type Hex, isChaosCoreError } from "@chaoscore/core";
import { afterAll, describe, expect, it } from "vitest";
import { type AttestationProvider, MockTeeProvider } from "./mock-tee.js";
import { executeAttested } from "./replay.js";
import { SecureExecutionEnvironment } from "./sandbox.js";

const DIR = join(import.meta.dirname, "corpus");
const NONCE: Hex = `0x${"ab".repeat(32)}`;

type Expectation =
  | { kind: "error"; code: ErrorCode }
  | { kind: "output"; output: unknown }
  | { kind: "deterministic" };

/** The first line of a corpus file: `// expect: CODE`, `// expect: output <json>` or `// expect: deterministic`. */
function expectation(source: string): Expectation {
  const line = /^\/\/ expect: (.*)$/m.exec(source.split("\n")[0] ?? "")?.[1];
  if (line === undefined) throw new Error("corpus file without an `// expect:` header");
  if (line === "deterministic") return { kind: "deterministic" };
  if (line.startsWith("output ")) return { kind: "output", output: JSON.parse(line.slice(7)) };
  return { kind: "error", code: line as ErrorCode };
}

const files = readdirSync(DIR)
  .filter((f) => f.endsWith(".js"))
  .sort();

/** A provider that counts the quotes it issues. */
class CountingProvider implements AttestationProvider {
  readonly inner = MockTeeProvider.create();
  readonly name = this.inner.name;
  readonly trustedRoots = this.inner.trustedRoots;
  attested = 0;
  async attest(measurement: Hex, reportData: Hex, nonce: Hex): Promise<AttestationQuote> {
    this.attested++;
    return this.inner.attest(measurement, reportData, nonce);
  }
  verify(quote: unknown, policy: Parameters<AttestationProvider["verify"]>[1]) {
    return this.inner.verify(quote, policy);
  }
}

describe("the escape and abuse corpus", () => {
  // Tight CPU budget so that the loops end quickly; everything else default.
  const sandbox = new SecureExecutionEnvironment({
    limits: { gas: 100_000_000, timeoutMs: 20_000, memoryBytes: 32 * 1024 * 1024 },
  });
  afterAll(() => sandbox.close());
  const heapBefore = getHeapStatistics().used_heap_size;

  it("has at least 60 attempts, each with a header", () => {
    expect(files.length).toBeGreaterThanOrEqual(60);
    for (const f of files)
      expect(() => expectation(readFileSync(join(DIR, f), "utf8"))).not.toThrow();
  });

  for (const file of files) {
    const source = readFileSync(join(DIR, file), "utf8");
    const expected = expectation(source);
    it(`${file}: ${expected.kind === "error" ? expected.code : expected.kind}`, async () => {
      const provider = new CountingProvider();
      const attempt = () =>
        executeAttested(source, { proposal: 1 }, { provider, nonce: NONCE, sandbox });
      if (expected.kind === "error") {
        // Twice: the same code and the same gas used every time.
        const outcomes = [];
        for (let i = 0; i < 2; i++) {
          const error = await attempt().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(isChaosCoreError(error), String(error)).toBe(true);
          const { code, details } = error as {
            code: string;
            details?: { stats?: { gasUsed?: number } };
          };
          expect(code).toBe(expected.code);
          expect(details?.stats?.gasUsed).toBeGreaterThan(0);
          outcomes.push({ code, gasUsed: details?.stats?.gasUsed });
        }
        expect(outcomes[1]).toEqual(outcomes[0]);
        expect(provider.attested).toBe(0); // a run that failed is never attested
      } else {
        const first = await attempt();
        const second = await attempt();
        expect(second.result.outputHash).toBe(first.result.outputHash);
        expect(JSON.stringify(second.result.output)).toBe(JSON.stringify(first.result.output));
        expect(second.result.gasUsed).toBe(first.result.gasUsed);
        expect(second.recorded.gasUsed).toBe(first.result.gasUsed);
        if (expected.kind === "output") expect(first.result.output).toEqual(expected.output);
        expect(provider.attested).toBe(2);
      }
      // The host is unaffected: its prototypes are clean and a normal run still works.
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(typeof JSON.stringify({})).toBe("string");
      const after = await sandbox.run("export default (input) => input.n * 2", { n: 21 });
      expect(after.output).toBe(42);
    });
  }

  it("leaves the host heap bounded after the whole corpus", () => {
    const grown = getHeapStatistics().used_heap_size - heapBefore;
    expect(grown).toBeLessThan(64 * 1024 * 1024);
  });
});
