/**
 * The ChaosCore node: the composition root ({@link createNode}) that assembles the
 * log, anchoring, the sandbox, reputation and studios over one database. The parts
 * are their own packages (`@chaoscore/log`, `@chaoscore/anchoring`, …): import
 * their names from them.
 * @module
 */
export { createEngine, type Engine, type EngineOptions } from "./engine.js";
export { type ChaosCoreNode, createNode, type NodeParts, openNodeDatabase } from "./node.js";
export { type NodeConfig, NodeConfigSchema, parseNodeConfig } from "./node-config.js";
export { NODE_MIGRATIONS, openDatabase } from "./node-database.js";
export {
  createNodeServices,
  type NodeServices,
  type NodeServicesOptions,
} from "./node-services.js";
export { createReadEngine, type ReadEngine } from "./read-engine.js";
