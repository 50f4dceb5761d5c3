// expect: output "still here"
// Adapted from vm2's attack catalogue (patriksimek/vm2 docs/ATTACKS.md, MIT,
// Copyright (c) 2014-2025 Patrik Simek and contributors), category 22: a rejection
// nobody handles must not take the host process down.
export default function main() {
  new Promise((_, reject) => reject(new Error("unhandled")));
  Promise.reject(Symbol("odd"));
  (async () => {
    throw new Error("async unhandled");
  })();
  return "still here";
}
