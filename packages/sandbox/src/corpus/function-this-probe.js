// expect: output {"Buffer":"undefined","fetch":"undefined","process":"undefined","require":"undefined","same":true,"setTimeout":"undefined","std":"undefined","os":"undefined","module":"undefined","WebAssembly":"undefined"}
// `Function('return this')()` is the guest's global object: probe it for
// host objects. None is there.
export default function main() {
  const g = Function("return this")();
  const out = { same: g === globalThis };
  for (const k of [
    "process",
    "require",
    "module",
    "Buffer",
    "fetch",
    "setTimeout",
    "std",
    "os",
    "WebAssembly",
  ]) {
    out[k] = typeof g[k];
  }
  return out;
}
