/**
 * A monitor of ChaosCore logs: follows a log from outside through its public
 * API (C2SP tlog-tiles), verifies every checkpoint (log key, witness quorum,
 * consistency with the last one seen), every new entry and tile, and the
 * log's anchors on chain, and reports typed findings. See docs/monitor.md.
 * @module
 */
export * from "./family.js";
export * from "./findings.js";
export * from "./log-client.js";
export * from "./monitor.js";
export * from "./state.js";
export * from "./watch.js";
