// expect: EXECUTION_BAD_OUTPUT
// A lone surrogate has no UTF-8 encoding, so the output could not be hashed
// unambiguously.
export default function main() {
  return { text: "\ud800" };
}
