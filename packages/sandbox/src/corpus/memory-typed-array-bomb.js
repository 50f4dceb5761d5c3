// expect: EXECUTION_MEMORY_LIMIT
// Typed arrays: QuickJS does not count ArrayBuffer contents against its heap
// limit, so the engine's WebAssembly memory is capped (memoryBytes + 32 MiB).
export default function main() {
  const keep = [];
  for (;;) keep.push(new Float64Array(1 << 20));
}
