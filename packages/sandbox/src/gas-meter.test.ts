import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  engineWasmPath,
  GAS_EXPORT,
  instrumentWasm,
  STACK_FLOOR_EXPORT,
  TRAP_GAS,
  TRAP_REASON_EXPORT,
  TRAP_STACK,
} from "./gas-meter.mjs";

/** The WebAssembly API (the project's TypeScript libs do not declare it). */
type Global = { value: bigint | number };
const WA = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (bytes: Uint8Array) => object;
      Instance: new (module: object) => { exports: Record<string, unknown> };
      RuntimeError: new () => Error;
      validate(bytes: Uint8Array): boolean;
    };
  }
).WebAssembly;

/** A module with global 0 = (mut i32) 0 (the stack pointer) and one export `f` with `body`. */
function tinyModule(body: number[], withMemory = false): Uint8Array {
  const fn = [0x00, ...body]; // no locals
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...[0x01, 0x04, 0x01, 0x60, 0x00, 0x00], // type () -> ()
    ...[0x03, 0x02, 0x01, 0x00], // one function of type 0
    ...(withMemory ? [0x05, 0x03, 0x01, 0x00, 0x01] : []), // (memory 1)
    ...[0x06, 0x06, 0x01, 0x7f, 0x01, 0x41, 0x00, 0x0b], // (global (mut i32) 0)
    ...[0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00], // export "f"
    ...[0x0a, fn.length + 2, 0x01, fn.length, ...fn],
  ]);
}

type Metered = {
  f: () => void;
  gas: Global;
  floor: Global;
  reason: Global;
};
function load(body: number[], withMemory = false): Metered {
  const instance = new WA.Instance(new WA.Module(instrumentWasm(tinyModule(body, withMemory))));
  const ex = instance.exports;
  return {
    f: ex.f as () => void,
    gas: ex[GAS_EXPORT] as Global,
    floor: ex[STACK_FLOOR_EXPORT] as Global,
    reason: ex[TRAP_REASON_EXPORT] as Global,
  };
}

describe("instrumentWasm", () => {
  it("charges one unit per function entry and per loop iteration", () => {
    // loop { block { loop {} } }: each loop header is reached once per call
    const m = load([0x03, 0x40, 0x02, 0x40, 0x03, 0x40, 0x0b, 0x0b, 0x0b, 0x0b]);
    m.gas.value = 100n;
    m.f();
    expect(m.gas.value).toBe(97n); // entry + 2 loop headers
    m.f();
    expect(m.gas.value).toBe(94n);
  });

  it("traps with reason 1 when the gas runs out, exactly at the budget", () => {
    const m = load([0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b]); // loop { br 0 }: forever
    m.gas.value = 1000n;
    expect(() => m.f()).toThrow(WA.RuntimeError);
    expect(m.reason.value).toBe(TRAP_GAS);
    expect(m.gas.value).toBe(0n);
  });

  it("charges a memory.fill or memory.copy one unit per 64 bytes of its length", () => {
    // memory.fill(0, 0, 65536) then memory.copy(0, 32768, 32768)
    const fill = [0x41, 0x00, 0x41, 0x00, 0x41, 0x80, 0x80, 0x04, 0xfc, 0x0b, 0x00];
    const copy = [
      0x41, 0x00, 0x41, 0x80, 0x80, 0x02, 0x41, 0x80, 0x80, 0x02, 0xfc, 0x0a, 0x00, 0x00,
    ];
    const m = load([...fill, ...copy, 0x0b], true);
    m.gas.value = 10_000n;
    m.f();
    expect(m.gas.value).toBe(10_000n - 1n - 1024n - 512n);
    m.gas.value = 1100n; // enough for the entry and the fill, not for the copy
    expect(() => m.f()).toThrow(WA.RuntimeError);
    expect(m.reason.value).toBe(TRAP_GAS);
    expect(m.gas.value).toBe(0n);
  });

  it("traps with reason 2 when the stack pointer is below the floor", () => {
    const m = load([0x0b]);
    m.gas.value = 100n;
    m.floor.value = 16; // the stack pointer (global 0) is 0
    expect(() => m.f()).toThrow(WA.RuntimeError);
    expect(m.reason.value).toBe(TRAP_STACK);
  });

  it("is deterministic and keeps the engine valid", () => {
    const engine = readFileSync(engineWasmPath());
    const a = instrumentWasm(engine);
    const b = instrumentWasm(engine);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(WA.validate(a)).toBe(true);
  });

  it("lowers the imported memory's minimum only when asked, and only downwards", () => {
    const engine = readFileSync(engineWasmPath());
    const lowered = instrumentWasm(engine, { minimumMemoryPages: 128 });
    expect(WA.validate(lowered)).toBe(true);
    expect(Buffer.from(lowered).equals(Buffer.from(instrumentWasm(engine)))).toBe(false);
    expect(() => instrumentWasm(engine, { minimumMemoryPages: 100_000 })).toThrow(
      /only be lowered/,
    );
    expect(() => instrumentWasm(tinyModule([0x0b]), { minimumMemoryPages: 1 })).toThrow(
      /no memory/,
    );
  });

  it("refuses instructions it does not know (so nothing runs unmetered)", () => {
    expect(() => instrumentWasm(tinyModule([0xfd, 0x00, 0x0b]))).toThrow(/unsupported instruction/);
    expect(() => instrumentWasm(tinyModule([0x06, 0x40, 0x0b]))).toThrow(/unsupported instruction/);
  });
});
