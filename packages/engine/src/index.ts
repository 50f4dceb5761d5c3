/**
 * The ChaosCore node: the composition of the log, anchoring, the sandbox,
 * reputation and studios ({@link createNode}, {@link createEngine}). The parts are their own
 * packages; they are re-exported here for entry points that assemble a node.
 * @module
 */
export * from "@chaoscore/anchoring";
export * from "@chaoscore/log";
export * from "@chaoscore/reputation";
export * from "@chaoscore/sandbox";
export * from "@chaoscore/studios";
export { createEngine, type Engine, type EngineOptions } from "./engine.js";
export { type ChaosCoreNode, createNode, type NodeParts, openNodeDatabase } from "./node.js";
export { type NodeConfig, NodeConfigSchema, parseNodeConfig } from "./node-config.js";
export { NODE_MIGRATIONS, openDatabase } from "./node-database.js";
export {
  createNodeServices,
  type NodeServices,
  type NodeServicesOptions,
} from "./node-services.js";
