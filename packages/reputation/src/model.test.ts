import { isChaosCoreError } from "@chaoscore/core";
import { describe, expect, it } from "vitest";
import {
  assertDimension,
  capabilityOf,
  decayedAt,
  decayedMass,
  decayFactor,
  dimensionsOf,
  evidenceMass,
  FLUSH_BELOW,
  flushTiny,
  foldEvidence,
  foldMass,
  isDimension,
  meanAndConfidence,
  mulFlushed,
  outcomeValue,
  priorState,
} from "./model.js";

const H = 30 * 86_400;

describe("isDimension / assertDimension", () => {
  it("accepts overall, capability:<name> and studio:<name>", () => {
    for (const d of [
      "overall",
      "capability:governance",
      "studio:gov",
      "studio:ü 🚀",
      `studio:${"x".repeat(256)}`,
    ]) {
      expect(isDimension(d)).toBe(true);
    }
  });
  it("refuses anything else with REPUTATION_DIMENSION_INVALID", () => {
    for (const d of [
      "",
      "Overall",
      "capability:",
      "studio:",
      "skill:x",
      `studio:${"x".repeat(257)}`,
      "studio:\u0000",
      "studio:\ud800",
      3,
      null,
    ]) {
      expect(isDimension(d)).toBe(false);
      try {
        assertDimension(d);
        expect.unreachable();
      } catch (e) {
        expect(isChaosCoreError(e, "REPUTATION_DIMENSION_INVALID")).toBe(true);
      }
    }
  });
});

describe("capabilityOf", () => {
  it("is the action type up to the first dot", () => {
    expect(capabilityOf("governance.vote")).toBe("governance");
    expect(capabilityOf("analysis")).toBe("analysis");
    expect(capabilityOf(".x")).toBeNull();
  });
});

describe("outcomeValue", () => {
  it("maps success 1, failure 0, partial to metrics.score in [0, 1] or 0.5", () => {
    expect(outcomeValue("success", '{"score":0.1}')).toBe(1);
    expect(outcomeValue("failure", null)).toBe(0);
    expect(outcomeValue("partial", '{"score":0.25}')).toBe(0.25);
    expect(outcomeValue("partial", '{"score":1.5}')).toBe(0.5);
    expect(outcomeValue("partial", '{"score":"0.9"}')).toBe(0.5);
    expect(outcomeValue("partial", "[1]")).toBe(0.5);
    expect(outcomeValue("partial", "not json")).toBe(0.5);
    expect(outcomeValue("partial", null)).toBe(0.5);
  });
});

describe("decayFactor", () => {
  it("halves every half-life, is 1 for Δt ≤ 0 and 0 beyond 1000 half-lives", () => {
    expect(decayFactor(H, H)).toBe(0.5);
    expect(decayFactor(3 * H, H)).toBe(0.125);
    expect(decayFactor(-5, H)).toBe(1);
    expect(decayFactor(1001 * H, H)).toBe(0);
  });
});

describe("flushTiny / mulFlushed / evidenceMass", () => {
  it("take factors below 1e-150 as 0, so no product is a denormal", () => {
    expect(flushTiny(FLUSH_BELOW)).toBe(FLUSH_BELOW);
    expect(flushTiny(FLUSH_BELOW * 0.99)).toBe(0);
    expect(flushTiny(-1e-200)).toBe(0);
    expect(mulFlushed(3, 0.5)).toBe(1.5);
    expect(mulFlushed(1e-151, 1e100)).toBe(0);
    expect(mulFlushed(1e-150, 1e-150)).toBe(1e-300);
    expect(evidenceMass(0.2, 0.25)).toEqual({ alpha: 0.05, beta: 0.2 * 0.75 });
    expect(evidenceMass(1e-200, 1)).toEqual({ alpha: 0, beta: 0 });
  });
});

describe("foldMass / decayedMass", () => {
  it("decay the stored mass above the prior's 1, and add late evidence decayed", () => {
    expect(foldMass(3, 100, 1, 100 + H, H)).toBe(1 + 2 * 0.5 + 1);
    expect(foldMass(3, 100 + H, 1, 100, H)).toBe(3 + 0.5);
    expect(decayedMass(3, 100, 100 + 2 * H, H)).toBe(1.5);
    expect(decayedMass(3, 100, 50, H)).toBe(3);
    expect(decayedMass(3, 0, 1001 * H, H)).toBe(1);
  });
});

describe("foldEvidence", () => {
  it("equals the closed form α = 1 + Σ w·x·2^(−Δt/H) in any arrival order", () => {
    const evidence = [
      { w: 1, x: 1, t: 100 },
      { w: 0.2, x: 0.3, t: 100 + 2 * H },
      { w: 0.7, x: 0, t: 100 + H / 3 },
      { w: 1, x: 0.5, t: 50 },
    ];
    const tLast = 100 + 2 * H;
    const alpha = 1 + evidence.reduce((s, e) => s + e.w * e.x * 2 ** (-(tLast - e.t) / H), 0);
    const beta = 1 + evidence.reduce((s, e) => s + e.w * (1 - e.x) * 2 ** (-(tLast - e.t) / H), 0);
    for (const order of [evidence, [...evidence].reverse()]) {
      const s = priorState();
      for (const e of order) foldEvidence(s, e.w, e.x, e.t, "outcome", H);
      expect(s.alpha).toBeCloseTo(alpha, 12);
      expect(s.beta).toBeCloseTo(beta, 12);
      expect(s.lastUpdate).toBe(tLast);
      expect(s.samples).toBe(4);
      const later = decayedAt(s, tLast + H, H);
      expect(later.alpha).toBeCloseTo(1 + (alpha - 1) / 2, 12);
    }
  });
});

describe("dimensionsOf", () => {
  it("lists overall, then capability and studio when present", () => {
    expect(dimensionsOf({ capability: "c", studio: "s" })).toEqual([
      "overall",
      "capability:c",
      "studio:s",
    ]);
    expect(dimensionsOf({ capability: null, studio: null })).toEqual(["overall"]);
  });
});

describe("meanAndConfidence", () => {
  it("is the Beta mean, and confidence 0 at the prior, rising with evidence", () => {
    expect(meanAndConfidence(1, 1)).toEqual({ value: 0.5, confidence: 0 });
    const a = meanAndConfidence(11, 1);
    const b = meanAndConfidence(101, 1);
    expect(a.value).toBeCloseTo(11 / 12, 15);
    expect(b.confidence).toBeGreaterThan(a.confidence);
    expect(b.confidence).toBeLessThan(1);
  });
});
