// expect: output {"names":["AggregateError","Array","ArrayBuffer","BigInt","BigInt64Array","BigUint64Array","Boolean","DataView","Date","Error","EvalError","Float16Array","Float32Array","Float64Array","Function","Infinity","Int16Array","Int32Array","Int8Array","InternalError","Iterator","JSON","Map","Math","NaN","Number","Object","Promise","Proxy","RangeError","ReferenceError","Reflect","RegExp","Set","String","Symbol","SyntaxError","TypeError","URIError","Uint16Array","Uint32Array","Uint8Array","Uint8ClampedArray","WeakMap","WeakSet","console","decodeURI","decodeURIComponent","encodeURI","encodeURIComponent","escape","eval","globalThis","isFinite","isNaN","parseFloat","parseInt","undefined","unescape"],"symbols":["Symbol(Symbol.toStringTag)"],"internals":[]}
// Adapted from vm2's attack catalogue (patriksimek/vm2 docs/ATTACKS.md, MIT,
// Copyright (c) 2014-2025 Patrik Simek and contributors), category 27: probe the
// global object for internal state by computed names; list what is there.
export default function main() {
  const names = Object.getOwnPropertyNames(globalThis).sort();
  const symbols = Object.getOwnPropertySymbols(globalThis).map(String);
  const internals = ["__bridge", "__sandbox", "host", "hostLog", "setup", "process", "require", "std", "os"].filter(
    (k) => k in globalThis,
  );
  return { names, symbols, internals };
}
