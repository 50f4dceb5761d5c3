// expect: EXECUTION_STACK_OVERFLOW
// Adapted from vm2's attack catalogue (patriksimek/vm2 docs/ATTACKS.md, MIT,
// Copyright (c) 2014-2025 Patrik Simek and contributors), category 4: overflow
// the stack and catch the error to reach its constructor. The stack limit is
// a trap of the metered engine: the code cannot catch it.
export default function main() {
  function recurse() {
    recurse();
  }
  try {
    recurse();
  } catch (overflow) {
    return overflow.constructor.constructor("return typeof process")();
  }
}
