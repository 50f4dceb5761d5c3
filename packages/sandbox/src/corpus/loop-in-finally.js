// expect: EXECUTION_CPU_LIMIT
// `while (true) {}` inside try/finally, with another loop in the finally:
// the interrupt is uncatchable, so neither catch nor finally can resume.
export default function main() {
  try {
    while (true) {}
  } catch {
    while (true) {}
  } finally {
    while (true) {}
  }
}
