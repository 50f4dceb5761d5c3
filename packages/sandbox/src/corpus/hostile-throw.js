// expect: EXECUTION_CPU_LIMIT
// Throw an object whose `message` getter loops: describing the error is
// itself under the budget.
export default function main() {
  throw {
    get message() {
      for (;;) {}
    },
  };
}
