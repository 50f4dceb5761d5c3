// expect: EXECUTION_STACK_OVERFLOW
// Unbounded recursion: stopped by QuickJS's stack limit.
export default function main() {
  const f = (n) => f(n + 1) + 1;
  return f(0);
}
