// expect: EXECUTION_MEMORY_LIMIT
// issue 21 / quickjs-emscripten #271: one string of 512 MiB; strings are
// bounded by the WebAssembly memory's maximum, not by QuickJS's counter.
export default function main() {
  return "x".repeat(2 ** 29).length;
}
