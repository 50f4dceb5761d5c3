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
} from "./signature-verifier.js";
export {
  type AuditFinding,
  type StoredCheckpoint,
  TransparencyLog,
  type TransparencyLogOptions,
} from "./transparency-log.js";
