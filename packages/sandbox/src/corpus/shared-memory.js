// expect: output {"Atomics":"undefined","FinalizationRegistry":"undefined","SharedArrayBuffer":"undefined","WeakRef":"undefined"}
// Shared memory and GC observers are removed (no Atomics.wait, no
// GC-timing side channel).
export default function main() {
  return {
    SharedArrayBuffer: typeof SharedArrayBuffer,
    Atomics: typeof Atomics,
    WeakRef: typeof WeakRef,
    FinalizationRegistry: typeof FinalizationRegistry,
  };
}
