import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ChaosCoreError, ERROR_CODES, type ErrorCode, isChaosCoreError } from "./errors.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CODES = Object.keys(ERROR_CODES) as ErrorCode[];
const KNOWN = new Set<string>(CODES);

/**
 * The code prefix of each component. A code starts with its component's
 * prefix; a new component adds its prefix here. The last group is for the
 * components of ARCHITECTURE.md that have no codes yet.
 */
const COMPONENT_PREFIXES: Readonly<Record<string, readonly string[]>> = {
  core: ["INVALID_", "SIGNATURE_"],
  merkle: ["MERKLE_"],
  checkpoint: ["NOTE_", "CHECKPOINT_", "COSIGNATURE_", "SHARD_CERTIFICATE_"],
  receipt: ["RECEIPT_"],
  trust: ["TRUST_POLICY_"],
  monitor: ["MONITOR_"],
  store: ["STORE_"],
  registry: ["AGENT_"],
  agency: ["AGENCY_"],
  log: ["LOG_"],
  witness: ["WITNESS_"],
  cli: ["CLI_"],
  // planned
  execution: ["EXECUTION_", "ATTESTATION_"],
  reputation: ["REPUTATION_"],
  studio: ["STUDIO_"],
  chain: ["CHAIN_"],
  anchoring: ["ANCHOR_"],
  gateway: ["GATEWAY_"],
  sdk: ["SDK_"],
  mcp: ["MCP_"],
};
const PREFIXES = Object.values(COMPONENT_PREFIXES).flat();

/**
 * Codes that no source file throws yet, each with the reason it exists (e.g.
 * a code of a command or component still being written). Every other code
 * must appear in the source of some package. Empty today: the CLI codes are
 * thrown by packages/cli/src/data-dir.ts.
 */
const RESERVED: Partial<Record<ErrorCode, string>> = {};

/**
 * String literals in the source that look like codes (a component prefix,
 * SCREAMING_SNAKE) but are not error codes, e.g. environment variable names.
 */
const NOT_CODES = new Set<string>([
  // function names in the contracts' ABIs (packages/chain/src/abis, generated)
  "AGENT_WALLET_SET_TYPEHASH",
  "STUDIO_ADMIN_ROLE",
  // an identifier named in a comment (the gateway's migration list)
  "GATEWAY_MIGRATIONS",
]);

// ---- docs/errors.md --------------------------------------------------------------------------

/** The `### ` sections of a markdown text: heading → body (up to the next heading). */
function sections(markdown: string): { heading: string; body: string }[] {
  const out: { heading: string; body: string }[] = [];
  let current: { heading: string; body: string } | undefined;
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const heading = fenced ? null : /^(#{1,6})\s+(.*?)\s*$/.exec(line);
    if (heading !== null) {
      current = heading[1] === "###" ? { heading: heading[2] ?? "", body: "" } : undefined;
      if (current !== undefined) out.push(current);
    } else if (current !== undefined) {
      current.body += `${line}\n`;
    }
  }
  return out;
}

const squash = (text: string): string => text.replace(/\s+/g, " ").trim();

describe("docs/errors.md", () => {
  const doc = sections(readFileSync(join(ROOT, "docs/errors.md"), "utf8"));
  const headings = doc.map((s) => s.heading);

  it("has a `### CODE` heading for every code", () => {
    expect(CODES.filter((code) => !headings.includes(code))).toEqual([]);
  });

  it("has no `###` heading that is not a code, and none twice", () => {
    expect(headings.filter((h) => !KNOWN.has(h))).toEqual([]);
    expect(headings.filter((h, i) => headings.indexOf(h) !== i)).toEqual([]);
  });

  it("gives each code its meaning from ERROR_CODES, when it happens, retry and what to do", () => {
    const incomplete = doc.filter(({ heading, body }) => {
      const text = squash(body);
      const meaning = ERROR_CODES[heading as ErrorCode];
      return (
        meaning === undefined ||
        !text.includes(`**Meaning:** ${squash(meaning)}`) ||
        !["**When:**", "**Retry:**", "**Do:**"].every((label) => text.includes(label))
      );
    });
    expect(incomplete.map((s) => s.heading)).toEqual([]);
  });
});

// ---- the codes -------------------------------------------------------------------------------

describe("ERROR_CODES", () => {
  it("are SCREAMING_SNAKE", () => {
    expect(CODES.filter((code) => !/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/.test(code))).toEqual([]);
  });

  it("start with the prefix of a known component", () => {
    expect(CODES.filter((code) => !PREFIXES.some((p) => code.startsWith(p)))).toEqual([]);
  });

  it("each have a one-line meaning", () => {
    const bad = CODES.filter((code) => {
      const meaning: string = ERROR_CODES[code];
      return meaning.trim() === "" || meaning.includes("\n") || meaning !== meaning.trim();
    });
    expect(bad).toEqual([]);
  });
});

// ---- ChaosCoreError --------------------------------------------------------------------------

describe("ChaosCoreError", () => {
  it("carries code and message, and no details or cause when none is given", () => {
    const e = new ChaosCoreError("AGENCY_EXPIRED", "the message has expired");
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(ChaosCoreError);
    expect(e.name).toBe("ChaosCoreError");
    expect(e.code).toBe("AGENCY_EXPIRED");
    expect(e.message).toBe("the message has expired");
    expect(e.details).toBeUndefined();
    expect(Object.hasOwn(e, "cause")).toBe(false);
    expect(String(e)).toBe("ChaosCoreError: the message has expired");
    expect(e.stack).toContain("the message has expired");
  });

  it("carries details and the cause", () => {
    const cause = new Error("connection refused");
    const e = new ChaosCoreError("STORE_UNAVAILABLE", "database error", {
      details: { attempt: 2 },
      cause,
    });
    expect(e.details).toEqual({ attempt: 2 });
    expect(e.cause).toBe(cause);
  });

  it("keeps an explicit `cause: undefined` out of the error", () => {
    const e = new ChaosCoreError("INVALID_INPUT", "x", { cause: undefined });
    expect(Object.hasOwn(e, "cause")).toBe(false);
  });

  it("serializes to code, message and details, never the cause", () => {
    const bare = new ChaosCoreError("LOG_NOT_FOUND", "no log default");
    expect(bare.toJSON()).toStrictEqual({ code: "LOG_NOT_FOUND", message: "no log default" });
    expect(JSON.parse(JSON.stringify(bare))).toStrictEqual(bare.toJSON());

    const full = new ChaosCoreError("AGENCY_ENTRY_TOO_LARGE", "too large", {
      details: { size: 70000, limit: 65536 },
      cause: new Error("secret internals"),
    });
    expect(full.toJSON()).toStrictEqual({
      code: "AGENCY_ENTRY_TOO_LARGE",
      message: "too large",
      details: { size: 70000, limit: 65536 },
    });
    expect(JSON.stringify(full)).not.toContain("secret internals");
  });

  it("checks codes at compile time", () => {
    // @ts-expect-error: not a code
    const e = new ChaosCoreError("AGENCY_EXPIRD", "typo");
    expect(KNOWN.has(e.code)).toBe(false);
  });
});

describe("isChaosCoreError", () => {
  const e = new ChaosCoreError("AGENT_NOT_FOUND", "no agent");

  it("recognizes a ChaosCoreError, with any code when none is given", () => {
    expect(isChaosCoreError(e)).toBe(true);
    expect(isChaosCoreError(e, "AGENT_NOT_FOUND")).toBe(true);
    expect(isChaosCoreError(e, "AGENT_NOT_ACTIVE")).toBe(false);
  });

  it("refuses other values, including look-alikes", () => {
    const lookAlike = { name: "ChaosCoreError", code: "AGENT_NOT_FOUND", message: "no agent" };
    for (const value of [new Error("x"), lookAlike, null, undefined, "AGENT_NOT_FOUND", 0]) {
      expect(isChaosCoreError(value)).toBe(false);
      expect(isChaosCoreError(value, "AGENT_NOT_FOUND")).toBe(false);
    }
  });

  it("narrows the code's type", () => {
    const caught: unknown = e;
    if (isChaosCoreError(caught, "AGENT_NOT_FOUND")) {
      const code: "AGENT_NOT_FOUND" = caught.code;
      expect(code).toBe("AGENT_NOT_FOUND");
    } else {
      expect.unreachable();
    }
  });
});

// ---- the source ------------------------------------------------------------------------------

/** Every non-test source file under packages/*\/src (TypeScript and the plain-JS workers). */
function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "node_modules") walk(path);
      } else if (/\.(?:ts|mts|js|mjs)$/.test(entry.name) && !/\.test\.[mc]?[jt]s$/.test(path)) {
        files.push(path);
      }
    }
  };
  for (const pkg of readdirSync(join(ROOT, "packages"))) {
    const src = join(ROOT, "packages", pkg, "src");
    if (existsSync(src)) walk(src);
  }
  return files.sort();
}

/** The string literals passed as the first argument of `new ChaosCoreError(...)`. */
function constructorCodes(source: string): string[] {
  const re = /new\s+ChaosCoreError\s*(?:<[^>]*>)?\(\s*(["'`])((?:(?!\1)[^\\])*)\1/g;
  return [...source.matchAll(re)].map((m) => m[2] ?? "");
}

/** Every string literal that looks like a code: a component prefix, then SCREAMING_SNAKE. */
function codeLikeLiterals(source: string): string[] {
  return [...source.matchAll(/(["'`])([A-Z][A-Z0-9_]*)\1/g)]
    .map((m) => m[2] ?? "")
    .filter((s) => PREFIXES.some((p) => s.startsWith(p)));
}

describe("codes in the source", () => {
  const files = sourceFiles().map((path) => ({
    path: relative(ROOT, path).split("\\").join("/"),
    text: readFileSync(path, "utf8"),
  }));

  it("finds the constructor's literal first argument, across lines", () => {
    expect(
      constructorCodes(`throw new ChaosCoreError("AGENCY_EXPIRD", "x");
        return new ChaosCoreError<"INVALID_INPUT">(
          "INVALID_INPUT",
          "y",
        );
        new ChaosCoreError(code, "z");`),
    ).toEqual(["AGENCY_EXPIRD", "INVALID_INPUT"]);
    expect(codeLikeLiterals(`fail("AGENT_NOT_FOUND", "x"); query("BEGIN"); f('LOG_X')`)).toEqual([
      "AGENT_NOT_FOUND",
      "LOG_X",
    ]);
  });

  it("`new ChaosCoreError` is only given known codes", () => {
    const sites = files.flatMap((f) => constructorCodes(f.text).map((code) => ({ ...f, code })));
    expect(sites.length).toBeGreaterThan(20);
    expect(sites.filter((s) => !KNOWN.has(s.code)).map((s) => `${s.path}: ${s.code}`)).toEqual([]);
  });

  it("every code-like string literal is a known code", () => {
    const unknown = files.flatMap((f) =>
      codeLikeLiterals(f.text)
        .filter((s) => !KNOWN.has(s) && !NOT_CODES.has(s))
        .map((s) => `${f.path}: ${s}`),
    );
    expect(unknown).toEqual([]);
  });

  it("every code is used by some source file, or is RESERVED with a reason", () => {
    const used = new Set(
      files
        .filter((f) => !f.path.endsWith("core/src/errors.ts") && !f.path.includes("/test-support/"))
        .flatMap((f) => codeLikeLiterals(f.text)),
    );
    expect(used.size).toBeGreaterThan(20);
    expect(CODES.filter((code) => !used.has(code) && RESERVED[code] === undefined)).toEqual([]);
    for (const reason of Object.values(RESERVED)) expect(reason?.trim()).not.toBe("");
  });
});
