export type { ActionQuery, ActionRecord } from "./action-queries.js";
export {
  type AgencyLimits,
  type AgentDirectory,
  type AnchorDirectory,
  DEFAULT_LIMITS,
  type RecordResult,
} from "./agency-context.js";
export type { AttestationRecordingPolicy } from "./attestation-check.js";
export {
  type AnchorAuditFinding,
  auditAnchoredCheckpoints,
  type ChainCheckpoint,
  inSnapshot,
} from "./audit.js";
export type { FamilyAuditReport } from "./entry-audit.js";
export { type FamilyWitnessingOptions, FamilyWitnessingService } from "./family-witnessing.js";
export { LogFamily, type LogShardInfo, type ShardRotation } from "./log-family.js";
export {
  chooseSecp256k1,
  engineSecp256k1,
  loadNativeSecp256k1,
  SECP256K1_ENV,
  type Secp256k1Choice,
  wasmSecp256k1,
} from "./native-secp256k1.js";
export type { OutcomePolicy } from "./outcome-authorization.js";
export {
  ProofOfAgency,
  type ProofOfAgencyInterface,
  type ProofOfAgencyOptions,
} from "./proof-of-agency.js";
export {
  InlineSignatureVerifier,
  type SignatureVerifier,
  WorkerSignatureVerifier,
  type WorkerSignatureVerifierOptions,
} from "./signature-verifier.js";
export {
  type AuditFinding,
  type StoredCheckpoint,
  TransparencyLog,
  type TransparencyLogOptions,
} from "./transparency-log.js";
export {
  parseWitnessEndpoint,
  type WitnessEndpoint,
  type WitnessingOptions,
  WitnessingService,
  type WitnessOutcome,
} from "./witnessing.js";
