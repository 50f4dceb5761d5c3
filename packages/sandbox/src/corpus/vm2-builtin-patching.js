// expect: output {"real":true,"logged":true}
// Adapted from vm2's attack catalogue (patriksimek/vm2 docs/ATTACKS.md, MIT,
// Copyright (c) 2014-2025 Patrik Simek and contributors), categories 10
// and 11: monkey-patch Function.prototype.call/apply, Reflect and
// JSON.stringify before the host API and the output serialiser run.
export default function main(input, host) {
  const captured = [];
  Function.prototype.call = function () {
    captured.push(this);
    return "patched";
  };
  Function.prototype.apply = function () {
    captured.push(this);
    return "patched";
  };
  Reflect.apply = () => "patched";
  JSON.stringify = () => '"forged"';
  const logged = host.log("hello");
  return { real: true, logged };
}
