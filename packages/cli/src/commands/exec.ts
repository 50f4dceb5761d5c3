/**
 * `chaoscore exec run|verify|replay`: run agent code in the sandbox with a
 * mock-TEE attestation, verify a recorded execution offline, re-execute it.
 * @module
 */
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import {
  agentBoundNonce,
  type Hex,
  isChaosCoreError,
  parseRecordedExecution,
  type RecordedExecution,
  verifyRecordedExecution,
} from "@chaoscore/core";
import { keyInfo } from "../data-dir.js";
import { info, out, printFields, printJson, shellQuote, UsageError } from "../output.js";
import type { Globals } from "../program.js";
import { ensureTeeRoot, trustedTeeRoots } from "../tee-root.js";

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${file}: ${(error as Error).message}`);
  }
}

async function readRecorded(file: string): Promise<RecordedExecution> {
  const text = await readText(file, "the recorded execution");
  try {
    return parseRecordedExecution(JSON.parse(text));
  } catch (error) {
    if (error instanceof SyntaxError) throw new UsageError(`${file} is not JSON`);
    throw error;
  }
}

/** Prints a coded failure the way `receipt verify` does and sets exit code 1. */
function failed(error: unknown, json: boolean | undefined): void {
  if (!isChaosCoreError(error)) throw error;
  if (json === true) printJson({ valid: false, code: error.code, message: error.message });
  else info(`✗ ${error.code}: ${error.message}`);
  process.exitCode = 1;
}

/** `chaoscore exec run <file>`: run and attest; write the recorded execution. */
export async function runExecRun(
  { dataDir }: Globals,
  file: string,
  opts: {
    input?: unknown;
    inputFile?: string;
    seed?: string;
    clock?: string;
    key?: string;
    out?: string;
    json?: boolean;
  },
): Promise<void> {
  const source = await readText(file, "the code");
  const input =
    opts.inputFile === undefined
      ? (opts.input ?? null)
      : JSON.parse(await readText(opts.inputFile, "the input"));
  const clock = opts.clock === undefined ? undefined : Number(opts.clock);
  if (clock !== undefined && !Number.isSafeInteger(clock)) {
    throw new UsageError("--clock must be milliseconds since the epoch");
  }
  const { executeAttested, MockTeeProvider, defaultSandbox } = await import("@chaoscore/sandbox");
  const provider = new MockTeeProvider({ rootKey: await ensureTeeRoot(dataDir) });
  // the nonce binds the agent that will record the run (docs/spec/attestation.md §9); a data
  // dir without that key gets an unbound nonce (the log will refuse to record that quote)
  const agent = await keyInfo(dataDir, opts.key ?? "default").then(
    (k) => k.address,
    () => undefined,
  );
  const nonce =
    agent === undefined ? (`0x${randomBytes(16).toString("hex")}` as Hex) : agentBoundNonce(agent);
  const language = [".ts", ".mts", ".cts"].includes(extname(file)) ? "typescript" : "javascript";
  try {
    const run = await executeAttested(source, input, {
      provider,
      nonce,
      language,
      ...(opts.seed === undefined ? {} : { seed: opts.seed }),
      ...(clock === undefined ? {} : { clock }),
    });
    const path = resolve(opts.out ?? "execution.json");
    await writeFile(path, `${JSON.stringify(run.recorded, null, 2)}\n`);
    if (opts.json === true) {
      printJson({
        output: run.result.output,
        attestationHash: run.attestationHash,
        gasUsed: run.result.gasUsed,
        path,
        quote: run.quote,
      });
    } else {
      out("✓ executed in the sandbox and attested");
      printFields([
        ["output", JSON.stringify(run.result.output)],
        ["output hash", run.result.outputHash],
        ["measurement", run.result.measurement],
        ["attestation", `${run.attestationHash} (quote by ${run.quote.provider})`],
        ["gas used", `${run.result.gasUsed} of ${run.result.limits.gas}`],
        ["took", `${run.result.stats.durationMs.toFixed(1)} ms`],
        ["recorded", path],
      ]);
      for (const line of run.result.logs) info(`log: ${line}`);
    }
    info(`next: chaoscore exec verify ${shellQuote(opts.out ?? "execution.json")}`);
  } catch (error) {
    failed(error, opts.json);
  } finally {
    await defaultSandbox().close();
  }
}

/** `chaoscore exec verify <recorded.json>`: the quote and the hashes, offline. */
export async function runExecVerify(
  { dataDir }: Globals,
  file: string,
  opts: { root?: string[]; maxAge?: number; policy?: string; at?: number; json?: boolean },
): Promise<void> {
  // real TEE evidence (a chaoscore.tee-evidence/v1 file or the vendor's bytes)
  const { readEvidence, runExecVerifyEvidence } = await import("./exec-evidence.js");
  const evidence = readEvidence(new Uint8Array(await readFile(file).catch(() => Buffer.alloc(0))));
  if (evidence !== null) {
    try {
      await runExecVerifyEvidence(evidence, opts);
    } catch (error) {
      failed(error, opts.json);
    }
    return;
  }
  const recorded = await readRecorded(file);
  const roots = [...(opts.root ?? []), ...(await trustedTeeRoots(dataDir))].map(
    (r) => r.toLowerCase() as Hex,
  );
  if (roots.length === 0) {
    throw new UsageError(
      "no trusted attestation root: pass --root <Ed25519 public key> or run `exec run` first",
    );
  }
  try {
    const verified = verifyRecordedExecution(recorded, {
      trustedRoots: roots,
      maxAgeSeconds: opts.maxAge ?? 86_400 * 365,
      now: Math.floor(Date.now() / 1000),
    });
    if (opts.json === true) printJson({ valid: true, ...verified });
    else {
      out("✓ recorded execution verified");
      printFields([
        ["measurement", recorded.quote?.measurement],
        ["output hash", verified.outputHash],
        ["attestation", verified.attestationHash],
        ["root", verified.root],
      ]);
    }
  } catch (error) {
    failed(error, opts.json);
  }
}

/** `chaoscore exec replay <recorded.json>`: re-run and compare the output hash. */
export async function runExecReplay(
  _globals: Globals,
  file: string,
  opts: { json?: boolean },
): Promise<void> {
  const recorded = await readRecorded(file);
  const { replay, defaultSandbox } = await import("@chaoscore/sandbox");
  try {
    const result = await replay(recorded);
    if (opts.json === true) printJson({ valid: true, outputHash: result.outputHash });
    else {
      out("✓ replay reproduced the recorded output");
      printFields([
        ["output hash", result.outputHash],
        ["measurement", result.measurement],
      ]);
    }
  } catch (error) {
    failed(error, opts.json);
  } finally {
    await defaultSandbox().close();
  }
}
