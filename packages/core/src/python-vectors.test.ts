import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type AgentCard, agentCardHash, parseAgentCard } from "./agent-card.js";
import { canonicalJsonBytes } from "./canonical-json.js";
import { signAction, signOutcome, signRequest } from "./client-signing.js";
import { recoverAddress, typedDataDigest } from "./eip712.js";
import { encodeEntry, entryId, entrySigner, parseEntry } from "./entry.js";
import { sha256Hex, utf8 } from "./hash.js";
import { bytesToHex, type Hex, hexToBytes } from "./hex.js";
import { leafHash } from "./merkle.js";
import type { ActionEntry, OutcomeEntry } from "./schemas.js";

// Entries signed by the Python SDK (python/scripts/generate_vectors.py), read by the TS core.
const DIR = join(import.meta.dirname, "..", "..", "..", "vectors", "python-signed");
const files = readdirSync(DIR)
  .filter((f) => f.endsWith(".json"))
  .sort();
// biome-ignore lint/suspicious/noExplicitAny: vectors are untyped JSON
const load = (f: string): any => JSON.parse(readFileSync(join(DIR, f), "utf8"));
const ofKind = (kind: string) => files.filter((f) => load(f).kind === kind);
// biome-ignore lint/suspicious/noExplicitAny: vectors are untyped JSON
const domainOf = (v: any) => ({
  chainId: BigInt(v.chainId),
  verifyingContract: v.verifyingContract,
});

describe("vectors/python-signed", () => {
  it("has every kind", () => {
    expect(ofKind("action").length).toBeGreaterThanOrEqual(4);
    expect(ofKind("outcome").length).toBeGreaterThanOrEqual(1);
    expect(ofKind("registration").length).toBeGreaterThanOrEqual(1);
    expect(ofKind("request").length).toBeGreaterThanOrEqual(2);
    for (const f of files) expect(load(f).format).toBe("chaoscore.python-vector/v1");
  });
});

describe("Python-signed actions", () => {
  it.each(ofKind("action"))("%s: id, signer, payload and leaf hashes", (f) => {
    const v = load(f);
    const entry = parseEntry(v.entry) as ActionEntry;
    expect(entryId(entry)).toBe(v.expected.id);
    expect(entrySigner(entry)).toBe(v.expected.signer);
    expect(entrySigner(entry) === entry.message.agent).toBe(v.expected.signedByAgent);
    if ("payload" in v) {
      expect(sha256Hex(canonicalJsonBytes(v.payload))).toBe(entry.message.payloadHash);
    } else {
      expect(entry.message.payloadHash).toBe(`0x${"00".repeat(32)}`);
    }
    expect(bytesToHex(leafHash(encodeEntry(entry)))).toBe(v.expected.leafHash);
  });

  it("counts one action signed by a key other than its agent's", () => {
    const others = ofKind("action").filter((f) => !load(f).expected.signedByAgent);
    expect(others).toEqual(["action-signed-by-other-key.json"]);
  });

  it.each(ofKind("action"))("%s: signAction makes the same bytes (RFC 6979)", (f) => {
    const v = load(f);
    const { input } = v;
    const { entry } = signAction({
      privateKey: hexToBytes(input.signerKey),
      ...domainOf(v),
      actionType: input.actionType,
      nonce: BigInt(input.nonce),
      ...("payload" in input ? { payload: input.payload } : {}),
      studio: input.studio ?? "",
      task: input.task ?? "",
      parents: input.parents ?? [],
      timestamp: input.timestamp,
      ttlSeconds: input.ttlSeconds,
      agent: v.entry.message.agent,
    });
    expect(entry).toEqual(v.entry);
  });
});

describe("Python-signed outcomes", () => {
  it.each(ofKind("outcome"))("%s: id, signer, hashes, and the same bytes from signOutcome", (f) => {
    const v = load(f);
    const entry = parseEntry(v.entry) as OutcomeEntry;
    expect(entryId(entry)).toBe(v.expected.id);
    expect(entrySigner(entry)).toBe(v.expected.signer);
    expect(entry.message.agent).toBe(v.expected.signer);
    expect(sha256Hex(canonicalJsonBytes(v.metrics))).toBe(entry.message.metricsHash);
    expect(entry.message.resultHash).toBe(v.expected.resultHash);
    expect(bytesToHex(leafHash(encodeEntry(entry)))).toBe(v.expected.leafHash);
    const { input } = v;
    const again = signOutcome({
      privateKey: hexToBytes(input.signerKey),
      ...domainOf(v),
      action: input.action,
      status: input.status,
      nonce: BigInt(input.nonce),
      result: input.result,
      metrics: input.metrics,
      timestamp: input.timestamp,
      ttlSeconds: input.ttlSeconds,
    });
    expect(again.entry).toEqual(v.entry);
  });
});

describe("Python-signed registrations", () => {
  it.each(ofKind("registration"))("%s: card hash, digest and signer", (f) => {
    const v = load(f);
    const { request } = v;
    const card = parseAgentCard(request.card) as AgentCard;
    expect(agentCardHash(card)).toBe(v.expected.cardHash);
    expect(request.message.cardHash).toBe(v.expected.cardHash);
    const digest = typedDataDigest("RegisterAgent", request.message, domainOf(v));
    expect(bytesToHex(digest)).toBe(v.expected.digest);
    expect(recoverAddress(digest, request.signature)).toBe(request.message.agent);
    expect(request.message.agent).toBe(v.expected.signer);
  });
});

describe("Python-signed gateway requests", () => {
  it.each(ofKind("request"))("%s: body hash, digest and signer", (f) => {
    const v = load(f);
    const { method, path, body, headers } = v.request;
    const message = {
      agent: headers["ChaosCore-Agent"] as Hex,
      origin: headers["ChaosCore-Origin"] as string,
      method,
      path,
      bodyHash: sha256Hex(utf8(body)),
      nonce: headers["ChaosCore-Nonce"] as Hex,
      expiry: headers["ChaosCore-Expiry"] as string,
    };
    expect(message).toEqual(v.expected.message);
    const digest = typedDataDigest("Request", message, domainOf(v));
    expect(bytesToHex(digest)).toBe(v.expected.digest);
    expect(recoverAddress(digest, headers["ChaosCore-Signature"])).toBe(message.agent);
    const again = signRequest({
      privateKey: hexToBytes(v.input.signerKey),
      ...domainOf(v),
      origin: message.origin,
      method,
      path,
      body,
      nonce: message.nonce,
      expiry: BigInt(message.expiry),
    });
    expect(again).toEqual({
      "chaoscore-agent": headers["ChaosCore-Agent"],
      "chaoscore-origin": headers["ChaosCore-Origin"],
      "chaoscore-nonce": headers["ChaosCore-Nonce"],
      "chaoscore-expiry": headers["ChaosCore-Expiry"],
      "chaoscore-signature": headers["ChaosCore-Signature"],
    });
  });

  it("another origin or deployment no longer recovers the agent", () => {
    const v = load(ofKind("request")[0] as string);
    const { headers } = v.request;
    const signature = headers["ChaosCore-Signature"];
    const otherOrigin = { ...v.expected.message, origin: "https://other-gateway.example" };
    expect(
      recoverAddress(typedDataDigest("Request", otherOrigin, domainOf(v)), signature),
    ).not.toBe(headers["ChaosCore-Agent"]);
    const otherDeployment = { ...domainOf(v), verifyingContract: `0x${"11".repeat(20)}` as Hex };
    expect(
      recoverAddress(typedDataDigest("Request", v.expected.message, otherDeployment), signature),
    ).not.toBe(headers["ChaosCore-Agent"]);
  });

  it("a changed path no longer recovers the agent", () => {
    const v = load(ofKind("request")[0] as string);
    const { headers } = v.request;
    const message = { ...v.expected.message, path: `${v.expected.message.path}x` };
    const signer = recoverAddress(
      typedDataDigest("Request", message, domainOf(v)),
      headers["ChaosCore-Signature"],
    );
    expect(signer).not.toBe(headers["ChaosCore-Agent"]);
  });
});
