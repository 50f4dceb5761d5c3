/**
 * Parts of the exec bench for issue 21: the cost of the gas meter (the same
 * program on the metered and on the original QuickJS WebAssembly module),
 * and the spread of gas used over repeated runs of every corpus program.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isChaosCoreError } from "@chaoscore/core";
import { SecureExecutionEnvironment } from "@chaoscore/sandbox";
import { newQuickJSWASMModule, newVariant, RELEASE_SYNC } from "quickjs-emscripten";
import { engineWasmPath, GAS_EXPORT, instrumentWasm } from "../packages/sandbox/src/gas-meter.mjs";

/** CPU-bound work of several kinds: interpreter loops, builtins, strings, JSON, RegExp. */
export const METERING_WORKLOAD = `
let x = 0;
for (let i = 0; i < 200000; i++) x = (x * 31 + i) % 1000003;
const a = [];
for (let i = 0; i < 20000; i++) a.push(String((i * 7919) % 10007));
a.sort();
const text = JSON.stringify(a);
const back = JSON.parse(text);
const words = text.match(/[0-9]+/g).length;
let s = "";
for (let i = 0; i < 2000; i++) s += back[i].padStart(6, "0");
[x, words, s.length, a.indexOf("9999"), a.join(",").length];
`;

type Wasm = {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (d: { initial: number; maximum: number }) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
};
const WA = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

async function engineOf(compiled: object) {
  let exports: Record<string, unknown> = {};
  const memory = new WA.Memory({ initial: 256, maximum: 4096 });
  const module = await newQuickJSWASMModule(
    newVariant(RELEASE_SYNC, {
      wasmMemory: memory as never,
      emscriptenModule: {
        instantiateWasm(imports: object, receive: (i: unknown, m: unknown) => void) {
          const instance = new WA.Instance(compiled, imports);
          exports = instance.exports;
          receive(instance, compiled);
          return instance.exports;
        },
      } as never,
    }),
  );
  return { module, gas: exports[GAS_EXPORT] as { value: bigint } | undefined };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/**
 * Runs the workload `rounds` times on each engine (alternating, after one
 * warm-up round each, a fresh instance per run) and returns the median times
 * and the gas the metered run used.
 */
export async function measureMeteringOverhead(rounds: number) {
  const original = readFileSync(engineWasmPath());
  const plain = new WA.Module(original);
  const metered = new WA.Module(instrumentWasm(original));
  const timeOne = async (compiled: object) => {
    const { module, gas } = await engineOf(compiled);
    const rt = module.newRuntime();
    const ctx = rt.newContext();
    if (gas !== undefined) gas.value = 2n ** 50n;
    const t0 = performance.now();
    const r = ctx.evalCode(METERING_WORKLOAD);
    const ms = performance.now() - t0;
    if (r.error) throw new Error(`the workload failed: ${JSON.stringify(ctx.dump(r.error))}`);
    const used = gas === undefined ? 0 : Number(2n ** 50n - gas.value);
    return { ms, used };
  };
  await timeOne(plain);
  await timeOne(metered);
  const plainMs: number[] = [];
  const meteredMs: number[] = [];
  let gasUsed = 0;
  for (let i = 0; i < rounds; i++) {
    plainMs.push((await timeOne(plain)).ms);
    const m = await timeOne(metered);
    meteredMs.push(m.ms);
    if (gasUsed !== 0 && m.used !== gasUsed) throw new Error("the gas meter is not deterministic");
    gasUsed = m.used;
  }
  return { plainMs: median(plainMs), meteredMs: median(meteredMs), gasUsed };
}

/**
 * Runs every corpus program `runs` times under `gas` and returns, per
 * program, the outcome and the spread (max − min) of gas used.
 */
export async function measureGasSpread(runs: number, gas: number) {
  const dir = join(import.meta.dirname, "../packages/sandbox/src/corpus");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".js"))
    .sort();
  const sandbox = new SecureExecutionEnvironment({
    limits: { gas, timeoutMs: 20_000, memoryBytes: 32 * 1024 * 1024 },
  });
  const rows: { file: string; outcomes: string[]; spread: number; gas: number }[] = [];
  try {
    for (const file of files) {
      const source = readFileSync(join(dir, file), "utf8");
      const used: number[] = [];
      const outcomes = new Set<string>();
      for (let i = 0; i < runs; i++) {
        try {
          const r = await sandbox.run(source, { proposal: 1 });
          used.push(r.gasUsed);
          outcomes.add(`ok ${r.outputHash.slice(0, 10)}`);
        } catch (e) {
          if (!isChaosCoreError(e)) throw e;
          const stats = (e.details as { stats?: { gasUsed?: number } } | undefined)?.stats;
          used.push(stats?.gasUsed ?? -1);
          outcomes.add(e.code);
        }
      }
      rows.push({
        file,
        outcomes: [...outcomes],
        spread: Math.max(...used) - Math.min(...used),
        gas: used[0] ?? -1,
      });
    }
  } finally {
    await sandbox.close();
  }
  return rows;
}
