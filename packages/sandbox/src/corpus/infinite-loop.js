// expect: EXECUTION_CPU_LIMIT
// An infinite loop: stopped by the instruction (interrupt) budget.
export default function main() {
  for (;;) {}
}
