// expect: EXECUTION_CODE_ERROR
// Adapted from vm2's attack catalogue (patriksimek/vm2 docs/ATTACKS.md, MIT,
// Copyright (c) 2014-2025 Patrik Simek and contributors), category 16: explicit
// resource management (using, SuppressedError) hides catch clauses from a
// source transformer. QuickJS does not parse using; eval reports the syntax
// error as the code's own.
export default function main() {
  return eval("{ using x = { [Symbol.dispose]() { throw new Error('d'); } }; }");
}
