// expect: EXECUTION_CPU_LIMIT
// issue 21: Array.prototype.splice shifts 2^40 elements of an array-like.
export default function main() {
  const o = { length: 2 ** 40 };
  Array.prototype.splice.call(o, 0, 1);
  return o.length;
}
