// expect: EXECUTION_LOG_TOO_LARGE
// The same through console.log, catching whatever is thrown.
export default function main() {
  for (;;) {
    try {
      console.log("y".repeat(10000));
    } catch {
      // ignore
    }
  }
}
