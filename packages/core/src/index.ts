export * from "./canonical-json.js";
export * from "./eip712.js";
export * from "./errors.js";
export * from "./hash.js";
export * from "./hex.js";
