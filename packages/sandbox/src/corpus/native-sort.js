// expect: EXECUTION_CPU_LIMIT
// issue 21: Array.prototype.sort reads every index of a huge array-like.
export default function main() {
  return Array.prototype.sort.call({ length: 2 ** 40 }).length;
}
