export {
  type AnchorAuditFinding,
  auditAnchoredCheckpoints,
  type ChainCheckpoint,
  inSnapshot,
} from "./audit.js";
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
  type ActionQuery,
  type ActionRecord,
  type AgencyLimits,
  type AgentDirectory,
  type AnchorDirectory,
  type AttestationRecordingPolicy,
  DEFAULT_LIMITS,
  ProofOfAgency,
  type ProofOfAgencyInterface,
  type ProofOfAgencyOptions,
  type RecordResult,
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
