// expect: EXECUTION_CPU_LIMIT
// Catastrophic regular-expression backtracking: the RegExp engine checks the
// interrupt budget too.
export default function main() {
  return /(a+)+$/.test(`${"a".repeat(40)}b`);
}
