// expect: output {"length":3,"same":true,"process":"undefined"}
// Adapted from vm2's attack catalogue (patriksimek/vm2 docs/ATTACKS.md, MIT,
// Copyright (c) 2014-2025 Patrik Simek and contributors), category 18: an array
// whose constructor's Symbol.species returns the array itself.
export default function main() {
  const arr = [1, 2, 3];
  arr.constructor = {
    [Symbol.species]: function () {
      return arr;
    },
  };
  const mapped = arr.map((x) => x);
  return {
    length: mapped.length,
    same: mapped === arr,
    process: mapped.constructor[Symbol.species].constructor("return typeof process")(),
  };
}
