// expect: EXECUTION_CPU_LIMIT
// One loop iteration that copies 8 MiB in a single WebAssembly instruction
// (memory.copy): bulk copies and fills are charged by their length (one unit
// per 64 bytes), so gas still bounds the work.
export default function main() {
  const a = new Uint8Array(8 << 20);
  const b = new Uint8Array(8 << 20);
  for (;;) a.set(b);
}
