// expect: EXECUTION_CPU_LIMIT
// issue 21: Array.prototype.slice of a huge array-like into a plain array.
export default function main() {
  return Array.prototype.slice.call({ length: 2 ** 40 }, 2 ** 40 - 2 ** 31).length;
}
