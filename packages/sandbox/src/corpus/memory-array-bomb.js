// expect: EXECUTION_MEMORY_LIMIT
// Keep allocating megabyte strings until memory runs out.
export default function main() {
  const keep = [];
  for (;;) keep.push("x".repeat(1 << 20) + keep.length);
}
