/** Version of the gas instrumentation; part of the runtime identity. */
export declare const GAS_METER_VERSION: string;
export declare const GAS_EXPORT: string;
export declare const STACK_FLOOR_EXPORT: string;
export declare const TRAP_REASON_EXPORT: string;
export declare const STACK_POINTER_EXPORT: string;
export declare const TRAP_GAS: number;
export declare const TRAP_STACK: number;
/** The engine module with the gas meter and stack floor instrumented in (deterministic). */
export declare function instrumentWasm(
  bytes: Uint8Array,
  options?: { minimumMemoryPages?: number },
): Uint8Array;
/** Bytes of a memory.copy or memory.fill that cost one unit of gas. */
export declare const BULK_BYTES_PER_GAS: number;
/** Path of the QuickJS WebAssembly module the sandbox runs (through quickjs-emscripten's dependencies). */
export declare function engineWasmPath(): string;
