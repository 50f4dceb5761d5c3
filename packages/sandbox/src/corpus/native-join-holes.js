// expect: EXECUTION_CPU_LIMIT
// issue 21: new Array(2^28).join("") loops 2^28 times in C and built nothing:
// it passed after 7 s with a 5 s time limit; now it runs out of gas, the
// same way on every machine.
export default function main() {
  return new Array(2 ** 28).join("").length;
}
