// Worker thread of the Secure Execution Environment: runs agent JavaScript in
// QuickJS compiled to WebAssembly (quickjs-emscripten, RELEASE_SYNC variant),
// instrumented with a deterministic gas meter (gas-meter.mjs). Plain
// JavaScript on purpose, so that it runs without a TypeScript loader.
//
// Every run gets a fresh WebAssembly instance with its own memory, so the
// allocator and the gas count start from the same state on every run (the
// compiled module is shared). Limit outcomes are decided here, by the host,
// from the engine's own state — the gas and stack trap reason, the failed
// memory growth flag, the wall-clock and log flags — never from the name or
// message of what the guest throws. The output is serialised with the
// prelude's JSON.stringify captured before any agent code ran, and checked
// (type, size) here, never by guest code.
//
// Protocol: receives { id, code, inputText, clock, seedWords: [4 × uint32],
// limits } and answers { id, ok: true, outputText, logs, stats } or
// { id, ok: false, code, message, details, logs, stats }; stats = {
// durationMs, gasUsed, memoryBytes, interrupts }.
import { readFileSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import { newQuickJSWASMModule, newVariant, RELEASE_SYNC } from "quickjs-emscripten";
import {
  engineWasmPath,
  GAS_EXPORT,
  instrumentWasm,
  STACK_FLOOR_EXPORT,
  STACK_POINTER_EXPORT,
  TRAP_GAS,
  TRAP_REASON_EXPORT,
  TRAP_STACK,
} from "./gas-meter.mjs";
import { PRELUDE } from "./prelude.mjs";

const PAGE = 65536;
/** The engine image below the heap: static data and the 5 MiB C stack, rounded up. */
export const ENGINE_IMAGE_BYTES = 8 * 1024 * 1024;
/** The memory a run starts with: the engine image (the module's declared minimum is lowered to it). */
const INITIAL_PAGES = ENGINE_IMAGE_BYTES / PAGE;
/** QuickJS's own stack check sits this far past the host's stack floor (a safety net for alloca). */
const QUICKJS_STACK_SLACK = 64 * 1024;

const compiled = new WebAssembly.Module(
  instrumentWasm(readFileSync(engineWasmPath()), {
    minimumMemoryPages: INITIAL_PAGES,
  }),
);

/** The engine's last stderr line (an Emscripten abort message), for diagnostics. */
let lastEngineMessage = "";

/**
 * A fresh engine: a new instance of the metered module in a new memory of at
 * most ENGINE_IMAGE_BYTES + memoryBytes. Host imports that could make the
 * engine's path depend on the machine (time, time zone, environment) are
 * replaced by constants; the memory-growth import records a failure.
 */
async function newEngine(memoryBytes) {
  const maximum = Math.ceil((ENGINE_IMAGE_BYTES + memoryBytes) / PAGE);
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum });
  const engine = { memory, instance: undefined, growthFailed: false };
  const instantiateWasm = (imports, receive) => {
    const env = imports.a;
    const grow = env.k;
    env.k = (size) => {
      const ok = grow(size);
      if (!ok) engine.growthFailed = true;
      return ok;
    };
    env.p = () => 0; // emscripten_date_now: the prelude's clock is the only time
    env.m = (time, tm) => {
      // localtime is UTC whatever the host's time zone (tm_gmtoff 0, no DST)
      const d = new Date(1000 * Number(time));
      const t = d.getTime();
      const yday = Number.isNaN(t) ? 0 : (t - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400000;
      const fields = [d.getUTCSeconds(), d.getUTCMinutes(), d.getUTCHours(), d.getUTCDate()];
      fields.push(
        d.getUTCMonth(),
        d.getUTCFullYear() - 1900,
        d.getUTCDay(),
        Math.floor(yday),
        0,
        0,
      );
      new Int32Array(memory.buffer, tm, 10).set(fields.map((f) => f | 0));
    };
    env.n = (timezone, daylight, std, dst) => {
      const heap = new Uint8Array(memory.buffer);
      new DataView(memory.buffer).setInt32(timezone, 0, true);
      new DataView(memory.buffer).setInt32(daylight, 0, true);
      heap.set([85, 84, 67, 0], std); // "UTC"
      heap.set([85, 84, 67, 0], dst);
    };
    env.e = () => 0; // environ_get: no environment
    env.f = (count, size) => {
      new DataView(memory.buffer).setInt32(count, 0, true);
      new DataView(memory.buffer).setInt32(size, 0, true);
      return 0;
    };
    engine.instance = new WebAssembly.Instance(compiled, imports);
    receive(engine.instance, compiled);
    return engine.instance.exports;
  };
  const quiet = { print: () => {}, printErr: (text) => (lastEngineMessage = String(text)) };
  engine.module = await newQuickJSWASMModule(
    newVariant(RELEASE_SYNC, {
      wasmMemory: memory,
      emscriptenModule: { ...quiet, instantiateWasm },
    }),
  );
  const ex = engine.instance.exports;
  engine.gas = ex[GAS_EXPORT];
  engine.stackFloor = ex[STACK_FLOOR_EXPORT];
  engine.trapReason = ex[TRAP_REASON_EXPORT];
  engine.stackPointer = ex[STACK_POINTER_EXPORT];
  return engine;
}

/** An error that ends a run with a code. */
class RunError extends Error {
  constructor(code, message, details) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

function runOne(engine, job) {
  const { code, inputText, clock, seedWords, limits } = job;
  const started = performance.now();
  const deadline = started + limits.timeoutMs;
  const logs = [];
  let logBytes = 0;
  let interrupts = 0;
  /** Host flags: "timeout" (wall clock, checked by the interrupt handler) or "log". */
  let abort = null;
  let budgetSet = false;

  const gasUsed = () => (budgetSet ? limits.gas - Number(engine.gas.value) : 0);
  const stats = () => ({
    durationMs: performance.now() - started,
    gasUsed: gasUsed(),
    memoryBytes: engine.memory.buffer.byteLength,
    interrupts,
  });
  /** The outcome of a run that ended early, from the host's flags only (or null). */
  const hostOutcome = () => {
    const reason = engine.trapReason.value;
    if (reason === TRAP_GAS) {
      return new RunError("EXECUTION_CPU_LIMIT", "the run used up its gas", { gas: limits.gas });
    }
    if (reason === TRAP_STACK) {
      return new RunError("EXECUTION_STACK_OVERFLOW", "the run exceeded its stack size limit", {
        stackBytes: limits.stackBytes,
      });
    }
    if (engine.growthFailed) {
      return new RunError("EXECUTION_MEMORY_LIMIT", "the run exceeded its memory limit", {
        memoryBytes: limits.memoryBytes,
      });
    }
    if (abort === "log") {
      return new RunError("EXECUTION_LOG_TOO_LARGE", "the run's log exceeds the log limit", {
        limit: limits.logBytes,
      });
    }
    if (abort === "timeout") {
      return new RunError("EXECUTION_TIMEOUT", "the run exceeded its wall-clock time limit", {
        timeoutMs: limits.timeoutMs,
      });
    }
    return null;
  };

  const rt = engine.module.newRuntime();
  const ctx = rt.newContext();
  /** Turns an error handle into a RunError: a host flag if one is set, else the code's own error. */
  const fromErrorHandle = (h) => {
    const flagged = hostOutcome();
    if (flagged !== null) return flagged;
    let dumped;
    try {
      dumped = ctx.dump(h);
    } catch {
      dumped = undefined;
    }
    const after = hostOutcome(); // describing the error runs guest code too
    if (after !== null) return after;
    const name = typeof dumped?.name === "string" ? dumped.name.slice(0, 200) : "Thrown";
    const message =
      typeof dumped?.message === "string"
        ? dumped.message.slice(0, 2000)
        : typeof dumped === "string"
          ? dumped.slice(0, 2000)
          : "";
    return new RunError("EXECUTION_CODE_ERROR", `${name}: ${message}`, { name, message });
  };
  /** The value of `h`, running pending jobs until it settles when it is a promise (the engine's state, not `then`). */
  const awaitValue = (h, what) => {
    for (;;) {
      const state = ctx.getPromiseState(h);
      if (state.type === "fulfilled") return state.notAPromise ? h : state.value;
      if (state.type === "rejected") throw fromErrorHandle(state.error);
      if (!rt.hasPendingJob()) throw new RunError("EXECUTION_CODE_ERROR", `${what} never settled`);
      const r = rt.executePendingJobs(1000);
      if (r.error) throw fromErrorHandle(r.error);
      const flagged = hostOutcome();
      if (flagged !== null) throw flagged;
    }
  };

  try {
    // The heap is bounded by the WebAssembly memory's maximum (strings and
    // ArrayBuffers included); QuickJS's own allocation limit is not used, so
    // that every allocation failure is a failed growth the host sees.
    rt.setMemoryLimit(-1);
    rt.setMaxStackSize(limits.stackBytes + QUICKJS_STACK_SLACK);
    rt.setModuleLoader((name) => ({ error: new Error(`imports are not available: ${name}`) }));
    rt.setInterruptHandler(() => {
      interrupts++;
      if (abort === null && performance.now() > deadline) abort = "timeout";
      return abort !== null;
    });
    engine.stackFloor.value = Math.max(0, engine.stackPointer.value - limits.stackBytes);
    engine.gas.value = BigInt(limits.gas);
    budgetSet = true;

    const hostLog = ctx.newFunction("log", (lineHandle) => {
      if (ctx.typeof(lineHandle) !== "string") return ctx.false;
      const lengthHandle = ctx.getProp(lineHandle, "length");
      const length = ctx.getNumber(lengthHandle);
      lengthHandle.dispose();
      if (abort !== null || logBytes + length > limits.logBytes) {
        abort ??= "log";
        return ctx.false;
      }
      const line = ctx.getString(lineHandle);
      const bytes = Buffer.byteLength(line, "utf8");
      if (logBytes + bytes > limits.logBytes) {
        abort = "log";
        return ctx.false;
      }
      logBytes += bytes;
      logs.push(line);
      return ctx.true;
    });

    const setupResult = ctx.evalCode(PRELUDE, "chaoscore-prelude.js", { type: "global" });
    if (setupResult.error) throw fromErrorHandle(setupResult.error);
    const args = [hostLog, ctx.newNumber(clock), ...seedWords.map((w) => ctx.newNumber(w))];
    const pair = ctx.unwrapResult(ctx.callFunction(setupResult.value, ctx.undefined, ...args));
    const runner = ctx.getProp(pair, "run");
    const serialize = ctx.getProp(pair, "serialize");

    // Compile first, so that a syntax error (or an import) is told apart from a throw.
    const compiledModule = ctx.evalCode(code, "agent.js", {
      type: "module",
      strict: true,
      compileOnly: true,
    });
    if (compiledModule.error) {
      const e = fromErrorHandle(compiledModule.error);
      if (e.code !== "EXECUTION_CODE_ERROR") throw e;
      throw new RunError("EXECUTION_COMPILE_ERROR", e.message, e.details);
    }
    const evaluated = ctx.evalCode(code, "agent.js", { type: "module", strict: true });
    if (evaluated.error) {
      const e = fromErrorHandle(evaluated.error);
      if (e.code === "EXECUTION_CODE_ERROR" && /imports are not available/.test(e.message)) {
        throw new RunError("EXECUTION_COMPILE_ERROR", e.message, e.details);
      }
      throw e;
    }
    const namespace = awaitValue(evaluated.value, "the module");
    const ran = ctx.callFunction(runner, ctx.undefined, namespace, ctx.newString(inputText));
    if (ran.error) throw fromErrorHandle(ran.error);
    const value = awaitValue(ran.value, "main's promise");
    const serialized = ctx.callFunction(serialize, ctx.undefined, value);
    if (serialized.error) {
      const e = fromErrorHandle(serialized.error);
      if (e.code !== "EXECUTION_CODE_ERROR") throw e;
      throw new RunError("EXECUTION_BAD_OUTPUT", `the output is not JSON: ${e.message}`);
    }
    const flagged = hostOutcome();
    if (flagged !== null) throw flagged;
    const text = serialized.value;
    if (ctx.typeof(text) !== "string") {
      throw new RunError("EXECUTION_BAD_OUTPUT", "the output is not JSON");
    }
    const lengthHandle = ctx.getProp(text, "length");
    const length = ctx.getNumber(lengthHandle);
    if (length > limits.outputBytes) {
      throw new RunError("EXECUTION_OUTPUT_TOO_LARGE", "the output exceeds the output limit", {
        limit: limits.outputBytes,
        size: length,
      });
    }
    return { ok: true, outputText: ctx.getString(text), logs, stats: stats() };
  } catch (e) {
    const error = e instanceof RunError ? e : (hostOutcome() ?? engineFailure(e));
    return {
      ok: false,
      code: error.code,
      message: error.message,
      details: error.details,
      logs,
      stats: stats(),
    };
  }
  // No dispose: the instance (with every handle in it) is dropped after the run.
}

/** A failure of the engine itself (a trap the host did not cause, or the host's own stack). */
function engineFailure(e) {
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    return new RunError("EXECUTION_STACK_OVERFLOW", "the run exceeded the host's native stack");
  }
  return new RunError(
    "EXECUTION_SANDBOX_FAILURE",
    `the sandbox engine failed: ${String(e?.message ?? e).slice(0, 500)}`,
    { engineMessage: lastEngineMessage.slice(0, 500) },
  );
}

parentPort?.on("message", async (job) => {
  let answer;
  try {
    answer = runOne(await newEngine(job.limits.memoryBytes), job);
  } catch (e) {
    answer = {
      ok: false,
      code: "EXECUTION_SANDBOX_FAILURE",
      message: `the sandbox could not start: ${String(e?.message ?? e).slice(0, 500)}`,
      logs: [],
      stats: { durationMs: 0, gasUsed: 0, memoryBytes: 0, interrupts: 0 },
    };
  }
  parentPort.postMessage({ id: job.id, ...answer });
});
