// expect: EXECUTION_CPU_LIMIT
// issue 21: Array.prototype.includes over 2^40 holes.
export default function main() {
  return Array.prototype.includes.call({ length: 2 ** 40 }, 1);
}
