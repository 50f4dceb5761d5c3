// expect: EXECUTION_STACK_OVERFLOW
// eval of 100 000 nested array literals: recursion in the parser.
export default function main() {
  return (0, eval)("[".repeat(100000) + "]".repeat(100000));
}
