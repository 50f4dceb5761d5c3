// expect: EXECUTION_CPU_LIMIT
// Catch whatever stops the loop and start again.
export default function main() {
  for (;;) {
    try {
      for (;;) {}
    } catch {
      // keep going
    }
  }
}
