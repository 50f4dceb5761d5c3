/**
 * The explorer's pages. Each view reads the public API and returns the
 * page's content; the router (main.ts) puts it in place.
 *
 * One file per view group under views/: shared pieces, home, agents,
 * actions and receipts, checkpoints, studios, search.
 * @module
 */
export * from "./views/agents.js";
export * from "./views/checkpoints.js";
export * from "./views/home.js";
export * from "./views/receipts.js";
export * from "./views/search.js";
export { gatewayInfo, paths, problem, type View } from "./views/shared.js";
export * from "./views/studios.js";
