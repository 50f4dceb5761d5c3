// The browser bundle's `Buffer` (esbuild injects shims/buffer.ts where
// @chaoscore/core names it), so core typechecks in a DOM-only program.
declare const Buffer: typeof import("./buffer.js").Buffer;
