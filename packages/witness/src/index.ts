export { NODE_ED25519, useNodeEd25519 } from "@chaoscore/log/node-ed25519";
export { MemoryWitnessStore } from "./memory-witness-store.js";
export { serveWitness, type WitnessServer } from "./server.js";
export {
  type AddCheckpointContext,
  parseWitnessedLog,
  SHARD_CERTIFICATE_HEADER,
  Witness,
  type WitnessAnswer,
  type WitnessedLog,
  type WitnessOptions,
} from "./witness.js";
export {
  DbWitnessStore,
  openWitnessStore,
  WITNESS_MIGRATIONS,
  WITNESS_SCHEMA,
  type WitnessedCheckpoint,
  type WitnessStore,
  type WitnessStoreOptions,
} from "./witness-store.js";
