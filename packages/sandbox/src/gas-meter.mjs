// Deterministic gas metering for the sandbox's WebAssembly engine (QuickJS
// compiled by Emscripten). Plain JavaScript, so that the worker loads it
// without a TypeScript loader.
//
// instrumentWasm(bytes) rewrites the module's code section: at the entry of
// every function and at the header of every `loop` it inserts
//
//     if (gas == 0) { reason = 1; unreachable }   gas -= 1
//
// and at every function entry also
//
//     if (sp < stackFloor) { reason = 2; unreachable }
//
// and before every bulk `memory.copy` / `memory.fill` (one instruction that
// may move up to the whole memory) a call that charges one unit per
// BULK_BYTES_PER_GAS bytes of its length:
//
//     if (gas <u len / 64) { reason = 1; gas = 0; unreachable }   gas -= len / 64
//
// where `gas` (i64), `stackFloor` (i32) and `reason` (i32) are new exported
// mutable globals and `sp` is the module's stack-pointer global (global 0).
// Every loop iteration and every call of the engine costs one unit, whether
// it runs the interpreter or a native builtin written in C (Array.prototype
// methods, String building, RegExp backtracking, JSON, the parser, the GC),
// so the count does not depend on the host's speed: the same program on the
// same input uses the same gas on every machine. Running out traps, and only
// the host (which reads `reason`) decides what a trap means: the guest cannot
// catch it, forge it or observe it.

import { createRequire } from "node:module";

/**
 * Path of the QuickJS WebAssembly module the sandbox runs (the RELEASE_SYNC
 * variant), resolved through quickjs-emscripten's own dependencies so that
 * it is the exact build that package loads.
 */
export function engineWasmPath() {
  const fromHere = createRequire(import.meta.url);
  const fromQuickjs = createRequire(fromHere.resolve("quickjs-emscripten"));
  return fromQuickjs.resolve("@jitl/quickjs-wasmfile-release-sync/wasm");
}

/** Version of the instrumentation; part of the runtime identity. */
export const GAS_METER_VERSION = "chaoscore.gas/1";
/** Bytes of a memory.copy or memory.fill that cost one unit of gas (a power of two). */
export const BULK_BYTES_PER_GAS = 64;
const BULK_SHIFT = Math.log2(BULK_BYTES_PER_GAS);
/** Export names of the added globals. */
export const GAS_EXPORT = "chaoscore_gas";
export const STACK_FLOOR_EXPORT = "chaoscore_stack_floor";
export const TRAP_REASON_EXPORT = "chaoscore_trap_reason";
/** Export name of the engine's own stack-pointer global (global 0), read by the host. */
export const STACK_POINTER_EXPORT = "chaoscore_sp";
/** Values of the trap-reason global. */
export const TRAP_GAS = 1;
export const TRAP_STACK = 2;

class Reader {
  constructor(bytes, pos = 0) {
    this.b = bytes;
    this.p = pos;
  }
  byte() {
    if (this.p >= this.b.length) throw new Error("wasm: unexpected end");
    return this.b[this.p++];
  }
  u32() {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new Error("wasm: LEB128 too long");
    }
  }
  /** Skips a signed or unsigned LEB128 of any width. */
  skipLeb() {
    for (let i = 0; i < 10; i++) if ((this.byte() & 0x80) === 0) return;
    throw new Error("wasm: LEB128 too long");
  }
}

const u32leb = (n) => {
  const out = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};

/** The opcodes the instrumentation emits. */
const OP = {
  unreachable: 0x00,
  if: 0x04,
  end: 0x0b,
  call: 0x10,
  localGet: 0x20,
  globalGet: 0x23,
  globalSet: 0x24,
  i32Const: 0x41,
  i64Const: 0x42,
  i64Eqz: 0x50,
  i32LtU: 0x49,
  i64LtU: 0x54,
  i64Sub: 0x7d,
  i64ShrU: 0x88,
  i64ExtendI32U: 0xad,
};
/** Value types and the empty block type. */
const T = { i32: 0x7f, i64: 0x7e, func: 0x60, void: 0x40, mut: 0x01 };

/** Skips a block type: 0x40, a value type, or a type index (s33). */
function skipBlockType(r) {
  const b = r.b[r.p];
  if (b === 0x40 || (b >= 0x6f && b <= 0x7f)) r.p++;
  else r.skipLeb();
}

/**
 * Walks one function body's instructions from `r.p` to `end` and calls
 * `atLoop(offset)` with the offset just after each `loop`'s block type.
 * Knows the MVP, sign-extension, saturating-truncation, bulk-memory and
 * reference-type instructions (what Emscripten emits for this engine);
 * anything else (SIMD, exceptions, threads, tail calls) is refused, so an
 * engine upgrade that needs them fails loudly rather than going unmetered.
 */
function walkBody(r, end, atLoop, atBulk) {
  while (r.p < end) {
    const at = r.p;
    const op = r.byte();
    if (op === 0x03) {
      skipBlockType(r);
      atLoop(r.p);
    } else if (op === 0x02 || op === 0x04) skipBlockType(r);
    else if (op === 0x0c || op === 0x0d || op === 0x10 || (op >= 0x20 && op <= 0x26) || op === 0xd2)
      r.u32();
    else if (op === 0x0e) {
      const n = r.u32();
      for (let i = 0; i <= n; i++) r.u32();
    } else if (op === 0x11) {
      r.u32();
      r.u32();
    } else if (op === 0x1c) {
      const n = r.u32();
      for (let i = 0; i < n; i++) r.byte();
    } else if (op >= 0x28 && op <= 0x3e) {
      r.u32();
      r.u32();
    } else if (op === 0x3f || op === 0x40) r.byte();
    else if (op === 0x41 || op === 0x42) r.skipLeb();
    else if (op === 0x43) r.p += 4;
    else if (op === 0x44) r.p += 8;
    else if (op === 0xd0) r.byte();
    else if (op === 0xfc) {
      const sub = r.u32();
      if (sub <= 7) {
        // saturating truncations: no immediate
      } else if (sub === 8) {
        r.u32();
        r.byte();
      } else if (sub === 9 || sub === 13 || sub === 15 || sub === 16 || sub === 17) r.u32();
      else if (sub === 10) {
        atBulk(at);
        r.byte();
        r.byte();
      } else if (sub === 11) {
        atBulk(at);
        r.byte();
      } else if (sub === 12 || sub === 14) {
        r.u32();
        r.u32();
      } else throw new Error(`wasm: unsupported instruction 0xfc ${sub}`);
    } else if (
      op === 0x00 ||
      op === 0x01 ||
      op === 0x05 ||
      op === 0x0b ||
      op === 0x0f ||
      op === 0x1a ||
      op === 0x1b ||
      op === 0xd1 ||
      (op >= 0x45 && op <= 0xc4)
    ) {
      // no immediate
    } else throw new Error(`wasm: unsupported instruction 0x${op.toString(16)}`);
  }
}

/**
 * Returns the instrumented module. Deterministic: the same input bytes (and
 * options) give the same output bytes.
 * @param {Uint8Array} bytes the original module
 * @param {{ minimumMemoryPages?: number }} [options] lower the imported
 * memory's declared minimum (so a small run's memory can be capped below the
 * engine's default initial size; the engine grows its heap on demand).
 */
export function instrumentWasm(bytes, options = {}) {
  const r = new Reader(bytes, 8);
  const sections = [];
  while (r.p < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    sections.push({ id, start: r.p, end: r.p + size });
    r.p += size;
  }
  const find = (id) => sections.find((s) => s.id === id);

  // Imported globals shift the index space of defined globals.
  let importedGlobals = 0;
  let importedFunctions = 0;
  /** Where the imported memory's minimum (pages, LEB128) sits in the import section. */
  let memoryMinimum;
  const imports = find(2);
  if (imports !== undefined) {
    const ir = new Reader(bytes, imports.start);
    const n = ir.u32();
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 2; k++) {
        const length = ir.u32();
        ir.p += length;
      }
      const kind = ir.byte();
      if (kind === 0) {
        importedFunctions++;
        ir.u32();
      } else if (kind === 1) {
        ir.byte();
        const flags = ir.byte();
        ir.u32();
        if (flags & 1) ir.u32();
      } else if (kind === 2) {
        const flags = ir.byte();
        const at = ir.p;
        memoryMinimum = { at, pages: ir.u32(), end: ir.p };
        if (flags & 1) ir.u32();
      } else if (kind === 3) {
        importedGlobals++;
        ir.byte();
        ir.byte();
      } else throw new Error("wasm: unknown import kind");
    }
  }
  if (options.minimumMemoryPages !== undefined && memoryMinimum === undefined) {
    throw new Error("wasm: the engine imports no memory");
  }
  const globals = find(6);
  if (globals === undefined) throw new Error("wasm: the engine has no stack-pointer global");
  const gr = new Reader(bytes, globals.start);
  const definedGlobals = gr.u32();
  // Global 0 must be Emscripten's __stack_pointer: a mutable i32.
  const firstGlobal = importedGlobals > 0 ? null : [bytes[gr.p], bytes[gr.p + 1]];
  if (firstGlobal === null || firstGlobal[0] !== 0x7f || firstGlobal[1] !== 0x01) {
    throw new Error("wasm: global 0 is not a mutable i32 stack pointer");
  }
  const GAS = importedGlobals + definedGlobals;
  const FLOOR = GAS + 1;
  const REASON = GAS + 2;
  const newGlobals = [
    ...u32leb(definedGlobals + 3),
    ...bytes.subarray(gr.p, globals.end),
    // (mut i64) -1 (unmetered until the host sets a budget), (mut i32) 0, (mut i32) 0
    ...[T.i64, T.mut, OP.i64Const, 0x7f, OP.end],
    ...[T.i32, T.mut, OP.i32Const, 0x00, OP.end],
    ...[T.i32, T.mut, OP.i32Const, 0x00, OP.end],
  ];

  const exportsSection = find(7);
  if (exportsSection === undefined) throw new Error("wasm: the engine has no exports");
  const er = new Reader(bytes, exportsSection.start);
  const exportCount = er.u32();
  const name = (s) => {
    const b = new TextEncoder().encode(s);
    return [...u32leb(b.length), ...b];
  };
  const newExports = [
    ...u32leb(exportCount + 4),
    ...bytes.subarray(er.p, exportsSection.end),
    ...name(GAS_EXPORT),
    0x03,
    ...u32leb(GAS),
    ...name(STACK_FLOOR_EXPORT),
    0x03,
    ...u32leb(FLOOR),
    ...name(TRAP_REASON_EXPORT),
    0x03,
    ...u32leb(REASON),
    ...name(STACK_POINTER_EXPORT),
    0x03,
    0x00,
  ];

  // The charge function: (i32 len) -> (i32 len), a new type and a new function at the end.
  const types = find(1);
  const functions = find(3);
  if (types === undefined || functions === undefined) throw new Error("wasm: no functions");
  const tr = new Reader(bytes, types.start);
  const typeCount = tr.u32();
  const newTypes = [
    ...u32leb(typeCount + 1),
    ...bytes.subarray(tr.p, types.end),
    ...[T.func, 1, T.i32, 1, T.i32],
  ];
  const fr = new Reader(bytes, functions.start);
  const functionCount = fr.u32();
  const newFunctions = [
    ...u32leb(functionCount + 1),
    ...bytes.subarray(fr.p, functions.end),
    ...u32leb(typeCount),
  ];
  const CHARGE = importedFunctions + functionCount;

  const g = (op, idx) => [op, ...u32leb(idx)];
  const trap = (reason) => [OP.i32Const, reason, ...g(OP.globalSet, REASON), OP.unreachable];
  // cost = i64(len) >> shift
  const cost = [OP.localGet, 0, OP.i64ExtendI32U, OP.i64Const, BULK_SHIFT, OP.i64ShrU];
  // (len) -> len: if (gas <u cost) { reason = 1; gas = 0; unreachable } gas -= cost
  const chargeBody = [
    ...[0x00], // no locals
    ...[...g(OP.globalGet, GAS), ...cost, OP.i64LtU, OP.if, T.void],
    ...[OP.i64Const, 0x00, ...g(OP.globalSet, GAS), ...trap(TRAP_GAS), OP.end],
    ...[...g(OP.globalGet, GAS), ...cost, OP.i64Sub, ...g(OP.globalSet, GAS)],
    ...[OP.localGet, 0, OP.end],
  ];
  const chargeCall = Uint8Array.from(g(OP.call, CHARGE));
  // if (gas == 0) { reason = 1; unreachable } gas -= 1
  const gasCheck = Uint8Array.from([
    ...[...g(OP.globalGet, GAS), OP.i64Eqz, OP.if, T.void, ...trap(TRAP_GAS), OP.end],
    ...[...g(OP.globalGet, GAS), OP.i64Const, 0x01, OP.i64Sub, ...g(OP.globalSet, GAS)],
  ]);
  // if (sp < floor) { reason = 2; unreachable }
  const stackCheck = Uint8Array.from([
    ...[...g(OP.globalGet, 0), ...g(OP.globalGet, FLOOR), OP.i32LtU, OP.if, T.void],
    ...[...trap(TRAP_STACK), OP.end],
  ]);

  const code = find(10);
  if (code === undefined) throw new Error("wasm: the engine has no code");
  const cr = new Reader(bytes, code.start);
  const bodies = cr.u32();
  const codeOut = [Uint8Array.from(u32leb(bodies + 1))];
  for (let i = 0; i < bodies; i++) {
    const size = cr.u32();
    const start = cr.p;
    const end = start + size;
    const localGroups = cr.u32();
    for (let j = 0; j < localGroups; j++) {
      cr.u32();
      cr.byte();
    }
    const parts = [bytes.subarray(start, cr.p), stackCheck, gasCheck];
    let last = cr.p;
    walkBody(
      cr,
      end,
      (at) => {
        parts.push(bytes.subarray(last, at), gasCheck);
        last = at;
      },
      (at) => {
        parts.push(bytes.subarray(last, at), chargeCall);
        last = at;
      },
    );
    if (cr.p !== end) throw new Error("wasm: a function body did not end where it should");
    parts.push(bytes.subarray(last, end));
    const bodySize = parts.reduce((n, p) => n + p.length, 0);
    const prefix = Uint8Array.from(u32leb(bodySize));
    codeOut.push(prefix, ...parts);
  }
  codeOut.push(Uint8Array.from(u32leb(chargeBody.length)), Uint8Array.from(chargeBody));

  const out = [bytes.subarray(0, 8)];
  const section = (id, content) => {
    const body = content instanceof Uint8Array ? [content] : content;
    const size = body.reduce((n, p) => n + p.length, 0);
    out.push(Uint8Array.from([id, ...u32leb(size)]), ...body);
  };
  for (const s of sections) {
    if (s.id === 2 && options.minimumMemoryPages !== undefined) {
      if (options.minimumMemoryPages > memoryMinimum.pages) {
        throw new Error("wasm: the memory minimum can only be lowered");
      }
      section(2, [
        bytes.subarray(s.start, memoryMinimum.at),
        Uint8Array.from(u32leb(options.minimumMemoryPages)),
        bytes.subarray(memoryMinimum.end, s.end),
      ]);
    } else if (s.id === 1) section(1, Uint8Array.from(newTypes));
    else if (s.id === 3) section(3, Uint8Array.from(newFunctions));
    else if (s.id === 6) section(6, Uint8Array.from(newGlobals));
    else if (s.id === 7) section(7, Uint8Array.from(newExports));
    else if (s.id === 10) section(10, codeOut);
    else if (s.id === 0)
      continue; // custom sections (names, producers) are dropped
    else section(s.id, bytes.subarray(s.start, s.end));
  }
  const total = out.reduce((n, p) => n + p.length, 0);
  const result = new Uint8Array(total);
  let at = 0;
  for (const p of out) {
    result.set(p, at);
    at += p.length;
  }
  return result;
}
