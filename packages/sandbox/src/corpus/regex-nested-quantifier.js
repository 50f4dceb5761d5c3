// expect: EXECUTION_CPU_LIMIT
// issue 21: catastrophic backtracking in the RegExp engine (C code): metered
// like any other loop.
export default function main() {
  return /^(\w+\s?)*$/.test("a".repeat(5000) + "!");
}
