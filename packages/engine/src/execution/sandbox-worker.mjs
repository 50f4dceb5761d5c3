// Worker thread of the Secure Execution Environment: runs agent JavaScript in
// QuickJS compiled to WebAssembly (quickjs-emscripten, RELEASE_SYNC variant).
// Plain JavaScript on purpose, so that it runs without a TypeScript loader.
//
// Why a worker: QuickJS's C recursion runs on the host thread's native stack.
// A worker started with a large stack (resourceLimits.stackSizeMb) lets
// QuickJS's own stack limit trip first, so deep recursion in the parser, JSON
// or RegExp is a coded error and never a host RangeError; and the parent can
// terminate the worker as a hard wall-clock backstop.
//
// Protocol: receives { id, code, inputText, clock, seedWords: [4 × uint32],
// limits } and answers { id, ok: true, outputText, logs, stats } or
// { id, ok: false, code, message, details, logs, stats }.
import { parentPort } from "node:worker_threads";
import { newQuickJSWASMModule, newVariant, RELEASE_SYNC } from "quickjs-emscripten";
import { PRELUDE } from "./prelude.mjs";

// QuickJS does not count ArrayBuffer contents against its memory limit, so
// each module gets a WebAssembly memory capped at memoryBytes + HEADROOM: an
// allocation past the cap fails inside the engine ("out of memory"). Modules
// are kept per cap and dropped after a memory failure or an engine failure.
const HEADROOM = 32 * 1024 * 1024;
const PAGE = 65536;
const MAX_MODULES = 4;
const modules = new Map();
/** The engine's last stderr line (an Emscripten abort message), for diagnostics. */
let lastEngineMessage = "";
const capPages = (memoryBytes) => Math.ceil((memoryBytes + HEADROOM) / PAGE);
const getModule = (memoryBytes) => {
  const pages = capPages(memoryBytes);
  let module = modules.get(pages);
  if (module === undefined) {
    if (modules.size >= MAX_MODULES) modules.delete(modules.keys().next().value);
    const wasmMemory = new WebAssembly.Memory({ initial: 256, maximum: pages });
    const quiet = { print: () => {}, printErr: (text) => (lastEngineMessage = String(text)) };
    module = newQuickJSWASMModule(
      newVariant(RELEASE_SYNC, { wasmMemory, emscriptenModule: quiet }),
    );
    modules.set(pages, module);
  }
  return module;
};
const dropModule = (memoryBytes) => modules.delete(capPages(memoryBytes));

/** An error that ends a run with a code. */
class RunError extends Error {
  constructor(code, message, details) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

/** Classifies an error thrown inside the guest (by name and message). */
function classifyGuestError(name, message) {
  if (name === "InternalError" && /^out of memory/.test(message)) {
    return new RunError("EXECUTION_MEMORY_LIMIT", "the run exceeded its memory limit");
  }
  if (name === "InternalError" && message === "string too long") {
    return new RunError("EXECUTION_MEMORY_LIMIT", "the run built a string over the engine's limit");
  }
  if (
    (name === "InternalError" && message === "stack overflow") ||
    (name === "SyntaxError" && message === "stack overflow") ||
    (name === "RangeError" && /call stack/i.test(message))
  ) {
    return new RunError("EXECUTION_STACK_OVERFLOW", "the run exceeded its stack size limit");
  }
  return new RunError("EXECUTION_CODE_ERROR", `${name}: ${message}`, { name, message });
}

function runOne(mod, job) {
  const { code, inputText, clock, seedWords, limits } = job;
  const started = performance.now();
  const deadline = started + limits.timeoutMs;
  const logs = [];
  let logBytes = 0;
  let interrupts = 0;
  let abort = null;
  let memoryBytes = null;
  let poisoned = false;

  const rt = mod.newRuntime();
  let ctx;
  const handles = [];
  const keep = (h) => {
    handles.push(h);
    return h;
  };
  const stats = () => ({
    durationMs: performance.now() - started,
    interrupts,
    ...(memoryBytes === null ? {} : { memoryBytes }),
  });
  const abortError = () => {
    if (abort === "cpu") {
      return new RunError("EXECUTION_CPU_LIMIT", "the run exceeded its instruction budget", {
        maxInterrupts: limits.maxInterrupts,
      });
    }
    if (abort === "log") {
      return new RunError("EXECUTION_LOG_TOO_LARGE", "the run's log exceeds the log limit", {
        limit: limits.logBytes,
      });
    }
    return new RunError("EXECUTION_TIMEOUT", "the run exceeded its wall-clock time limit", {
      timeoutMs: limits.timeoutMs,
    });
  };
  /** Turns an error handle (or the abort flag) into a RunError and disposes the handle. */
  const fromErrorHandle = (h) => {
    if (abort !== null) {
      h.dispose();
      return abortError();
    }
    let dumped;
    try {
      dumped = ctx.dump(h);
    } catch {
      dumped = undefined;
    }
    h.dispose();
    if (abort !== null) return abortError();
    const name = typeof dumped?.name === "string" ? dumped.name : "Error";
    const message = typeof dumped?.message === "string" ? dumped.message.slice(0, 2000) : "";
    if (name === "InternalError" && message === "interrupted") return abortError();
    return classifyGuestError(name, message);
  };
  /** The value of `h`, running pending jobs until it settles when it is a promise. */
  const awaitValue = (h, what) => {
    for (;;) {
      const state = ctx.getPromiseState(h);
      if (state.type === "fulfilled") return state.notAPromise ? h : keep(state.value);
      if (state.type === "rejected") throw fromErrorHandle(state.error);
      if (!rt.hasPendingJob()) throw new RunError("EXECUTION_CODE_ERROR", `${what} never settled`);
      const r = rt.executePendingJobs(1000);
      if (r.error) throw fromErrorHandle(r.error);
      if (abort !== null) throw abortError();
    }
  };

  try {
    rt.setMemoryLimit(limits.memoryBytes);
    rt.setMaxStackSize(limits.stackBytes);
    rt.setModuleLoader((name) => ({ error: new Error(`imports are not available: ${name}`) }));
    rt.setInterruptHandler(() => {
      interrupts++;
      if (abort !== null) return true;
      if (interrupts > limits.maxInterrupts) abort = "cpu";
      else if (performance.now() > deadline) abort = "timeout";
      return abort !== null;
    });
    ctx = rt.newContext();

    const hostLog = keep(
      ctx.newFunction("log", (lineHandle) => {
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
      }),
    );

    const setupResult = ctx.evalCode(PRELUDE, "chaoscore-prelude.js", { type: "global" });
    if (setupResult.error) throw fromErrorHandle(setupResult.error);
    const setup = keep(setupResult.value);
    const args = [
      hostLog,
      keep(ctx.newNumber(clock)),
      ...seedWords.map((w) => keep(ctx.newNumber(w))),
      keep(ctx.newNumber(limits.outputBytes)),
    ];
    const runnerResult = ctx.callFunction(setup, ctx.undefined, ...args);
    if (runnerResult.error) throw fromErrorHandle(runnerResult.error);
    const runner = keep(runnerResult.value);

    // Compile first, so that a syntax error (or an import) is told apart from a throw.
    const compiled = ctx.evalCode(code, "agent.js", {
      type: "module",
      strict: true,
      compileOnly: true,
    });
    if (compiled.error) {
      const e = fromErrorHandle(compiled.error);
      if (e.code !== "EXECUTION_CODE_ERROR") throw e;
      throw new RunError("EXECUTION_COMPILE_ERROR", e.message, e.details);
    }
    compiled.value.dispose();

    const evaluated = ctx.evalCode(code, "agent.js", { type: "module", strict: true });
    if (evaluated.error) {
      const e = fromErrorHandle(evaluated.error);
      if (e.code === "EXECUTION_CODE_ERROR" && /imports are not available/.test(e.message)) {
        throw new RunError("EXECUTION_COMPILE_ERROR", e.message, e.details);
      }
      throw e;
    }
    const namespace = awaitValue(keep(evaluated.value), "the module");
    const inputHandle = keep(ctx.newString(inputText));
    const ran = ctx.callFunction(runner, ctx.undefined, namespace, inputHandle);
    if (ran.error) throw fromErrorHandle(ran.error);
    const tagged = awaitValue(keep(ran.value), "main's promise");
    if (abort !== null) throw abortError();
    if (ctx.typeof(tagged) !== "string") {
      throw new RunError("EXECUTION_BAD_OUTPUT", "the run did not produce an output");
    }
    const text = ctx.getString(tagged);
    const tag = text[0];
    const body = text.slice(1);
    if (tag === "O") {
      throw new RunError("EXECUTION_OUTPUT_TOO_LARGE", "the output exceeds the output limit", {
        limit: limits.outputBytes,
        size: Number(body),
      });
    }
    if (tag === "B") {
      const { name, message } = JSON.parse(body);
      throw new RunError("EXECUTION_BAD_OUTPUT", `the output is not JSON: ${name}: ${message}`);
    }
    if (tag === "E") {
      const { name, message } = JSON.parse(body);
      throw classifyGuestError(name, message);
    }
    if (tag !== "R") throw new RunError("EXECUTION_SANDBOX_FAILURE", "the runner answered garbage");
    try {
      const usage = rt.computeMemoryUsage();
      const dumped = ctx.dump(usage);
      usage.dispose();
      if (typeof dumped?.memory_used_size === "number") memoryBytes = dumped.memory_used_size;
    } catch {
      memoryBytes = null;
    }
    return { ok: true, outputText: body, logs, stats: stats() };
  } catch (e) {
    if (e instanceof RunError) {
      if (e.code === "EXECUTION_MEMORY_LIMIT") dropModule(limits.memoryBytes);
      return {
        ok: false,
        code: e.code,
        message: e.message,
        details: e.details,
        logs,
        stats: stats(),
      };
    }
    // The engine itself failed (a WebAssembly trap, or the host's own stack):
    // the module's state is unknown, so it is dropped and never reused.
    poisoned = true;
    dropModule(limits.memoryBytes);
    const hostStack = e instanceof RangeError && /call stack/i.test(e.message);
    return {
      ok: false,
      code: hostStack ? "EXECUTION_STACK_OVERFLOW" : "EXECUTION_SANDBOX_FAILURE",
      message: hostStack
        ? "the run exceeded the host's native stack"
        : `the sandbox engine failed: ${String(e?.message ?? e).slice(0, 500)}`,
      details: { poisoned: true, engineMessage: lastEngineMessage.slice(0, 500) },
      logs,
      stats: stats(),
      poisoned: true,
    };
  } finally {
    if (!poisoned) {
      try {
        for (const h of handles.reverse()) if (h.alive) h.dispose();
        ctx?.dispose();
        rt.dispose();
      } catch {
        dropModule(limits.memoryBytes);
      }
    }
  }
}

parentPort?.on("message", async (job) => {
  let answer;
  try {
    const mod = await getModule(job.limits.memoryBytes);
    answer = runOne(mod, job);
  } catch (e) {
    dropModule(job.limits.memoryBytes);
    answer = {
      ok: false,
      code: "EXECUTION_SANDBOX_FAILURE",
      message: `the sandbox could not start: ${String(e?.message ?? e).slice(0, 500)}`,
      logs: [],
      stats: { durationMs: 0, interrupts: 0 },
    };
  }
  parentPort.postMessage({ id: job.id, ...answer });
});
