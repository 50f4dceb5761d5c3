/**
 * Execution attestations (`chaoscore.attestation/v1`) and recorded executions
 * (`chaoscore.execution/v2`): formats, hashes, signing and verification. Pure
 * (no I/O), so that an offline receipt verifier can check an attestation.
 * The format is specified in docs/spec/attestation.md.
 *
 * - measurement  = SHA-256(JCS({ format: "chaoscore.measurement/v2", codeHash, runtime, limits }))
 * - codeHash     = SHA-256(UTF-8 bytes of the JavaScript that ran)
 * - inputHash    = SHA-256(JCS({ format: "chaoscore.execution-input/v1", input, seed, clock }))
 * - outputHash   = SHA-256(JCS(output))
 * - reportData   = SHA-256(inputHash ‖ outputHash ‖ nonce)            (raw bytes)
 * - quote signed = Ed25519(enclave key, "chaoscore.attestation/v1 quote\n" ‖ JCS(quote − signature))
 * - certificate  = Ed25519(issuer key, "chaoscore.attestation/v1 certificate\n" ‖ JCS(cert − signature))
 * - attestationHash = SHA-256(JCS(quote)), the `attestationHash` of an Action.
 *
 * Split along its seams: formats and parsers (`attestation-formats.ts`),
 * hashes (`attestation-hashes.ts`), signing (`attestation-signing.ts`) and
 * verification (`attestation-verify.ts`); this module re-exports them.
 *
 * @module
 */
export * from "./attestation-formats.js";
export * from "./attestation-hashes.js";
export * from "./attestation-signing.js";
export * from "./attestation-verify.js";
