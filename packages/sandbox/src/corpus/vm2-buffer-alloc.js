// expect: EXECUTION_MEMORY_LIMIT
// Adapted from vm2's attack catalogue (patriksimek/vm2 docs/ATTACKS.md, MIT,
// Copyright (c) 2014-2025 Patrik Simek and contributors), category 23: one large
// allocation (Buffer.alloc there; a typed array here) to exhaust the host's
// heap. The allocation fails inside the engine's capped memory.
export default function main() {
  return new Uint8Array(2 ** 31 - 1).length;
}
