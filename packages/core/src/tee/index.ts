/**
 * Real TEE evidence (AWS Nitro Enclaves, Intel TDX, AMD SEV-SNP): parsing, verification,
 * policies and the binding of evidence to an agent's execution. Pure; runs in
 * Node and the browser. The fast Node ECDSA back end is at
 * `@chaoscore/core/tee/node-ecdsa` (not exported here: it imports node:crypto).
 *
 * @module
 */

export * from "./binding.js";
export * from "./cose.js";
export * from "./ecdsa.js";
export * from "./evidence.js";
export * from "./nitro.js";
export * from "./rsa-pss.js";
export * from "./signature-cache.js";
export * from "./snp.js";
export * from "./snp-cert-table.js";
export {
  AMD_ARK_GENOA_SHA256,
  AMD_ARK_MILAN_SHA256,
  type AmdCertificate,
  parseAmdCertificate,
} from "./snp-certs.js";
export * from "./tdx.js";
export * from "./tdx-collateral.js";
export * from "./tdx-quote.js";
export {
  type CertificatePathOptions,
  type ParsedCertificate,
  type ParsedCrl,
  parseCertificate,
  parseCrl,
  pemCertificates,
  verifyCertificatePath,
} from "./x509.js";
