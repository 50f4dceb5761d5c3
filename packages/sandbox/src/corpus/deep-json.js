// expect: EXECUTION_STACK_OVERFLOW
// JSON.parse of 100 000 nested arrays: recursion in the engine's C code.
export default function main() {
  return JSON.parse("[".repeat(100000) + "]".repeat(100000));
}
