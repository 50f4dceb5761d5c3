// expect: EXECUTION_CPU_LIMIT
// issue 21: Array.prototype.every skips holes natively, calling nothing.
export default function main() {
  return Array.prototype.every.call({ length: 2 ** 40 }, () => true);
}
