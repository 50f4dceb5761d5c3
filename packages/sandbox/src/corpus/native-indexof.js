// expect: EXECUTION_CPU_LIMIT
// issue 21: a native loop never reaches the interrupt handler; the gas meter
// counts the loop inside Array.prototype.indexOf (C code compiled to wasm).
export default function main() {
  return Array.prototype.indexOf.call({ length: 2 ** 40 }, 1);
}
