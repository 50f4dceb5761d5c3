import { isChaosCoreError } from "@chaoscore/core";
import { describe, expect, it } from "vitest";
import { eigenTrust, raterWeights, trustGraphFromEdges } from "./eigentrust.js";

const sum = (a: Float64Array) => a.reduce((s, v) => s + v, 0);

describe("trustGraphFromEdges", () => {
  it("indexes nodes and drops non-positive edges and self-loops", () => {
    const g = trustGraphFromEdges(
      [
        ["a", "b", 1],
        ["b", "b", 5],
        ["b", "c", 0],
        ["c", "a", 2],
      ],
      ["p"],
    );
    expect(g.nodes).toEqual(["a", "b", "c", "p"]);
    expect([...g.from]).toEqual([0, 2]);
    expect([...g.to]).toEqual([1, 0]);
    expect([...g.weight]).toEqual([1, 2]);
  });
});

describe("eigenTrust", () => {
  it("solves t = (1 − a)·Cᵀt + a·p on a small graph", () => {
    // p trusts a; a trusts b; b trusts a and c equally; c has no opinion (dangling → p).
    const g = trustGraphFromEdges([
      ["p", "a", 1],
      ["a", "b", 1],
      ["b", "a", 1],
      ["b", "c", 1],
    ]);
    const r = eigenTrust(g, { preTrusted: ["p"], damping: 0.15, epsilon: 1e-14 });
    expect(r.converged).toBe(true);
    const t = Object.fromEntries(g.nodes.map((n, i) => [n, r.trust[i] as number]));
    const a = 0.15;
    // Check the fixed point directly.
    const dangling = t.c as number;
    expect(t.p).toBeCloseTo((1 - a) * dangling + a, 12);
    expect(t.a).toBeCloseTo((1 - a) * ((t.p as number) + (t.b as number) / 2), 12);
    expect(t.b).toBeCloseTo((1 - a) * (t.a as number), 12);
    expect(t.c).toBeCloseTo((1 - a) * ((t.b as number) / 2), 12);
    expect(sum(r.trust)).toBeCloseTo(1, 12);
  });

  it("gives a Sybil clique that no trusted peer rates no trust at all", () => {
    const edges: [string, string, number][] = [
      ["op", "honest", 1],
      ["honest", "target", 1],
    ];
    for (let i = 0; i < 50; i++) {
      edges.push([`s${i}`, "target", 10], [`s${i}`, `s${(i + 1) % 50}`, 10]);
    }
    const r = eigenTrust(trustGraphFromEdges(edges), { preTrusted: ["op"] });
    const w = raterWeights(r, ["op"]);
    for (let i = 0; i < 50; i++) expect(w.get(`s${i}`)).toBeUndefined();
    expect(w.get("op")).toBe(1);
    expect(w.get("honest")).toBeGreaterThan(0);
  });

  it("reaches the same vector from a warm start in fewer iterations", () => {
    const edges: [string, string, number][] = [];
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 2000; i++) {
      for (let k = 0; k < 5; k++)
        edges.push([`n${i}`, `n${Math.floor(rand() * 2000)}`, 1 + rand()]);
    }
    const pre = ["n0", "n1", "n2"];
    const first = eigenTrust(trustGraphFromEdges(edges), { preTrusted: pre });
    for (let i = 0; i < 20; i++) edges.push([`n${i * 7}`, `n${i * 13}`, 1]);
    const g = trustGraphFromEdges(edges);
    const cold = eigenTrust(g, { preTrusted: pre });
    const warm = eigenTrust(g, {
      preTrusted: pre,
      warmStart: new Map(first.nodes.map((n, i) => [n, first.trust[i] as number])),
    });
    expect(warm.iterations).toBeLessThan(cold.iterations);
    for (let i = 0; i < g.nodes.length; i++) {
      expect(Math.abs((warm.trust[i] as number) - (cold.trust[i] as number))).toBeLessThan(1e-9);
    }
  });

  it("starts warm from the same vector whatever the order of the previous one", () => {
    const edges: [string, string, number][] = [];
    for (let i = 0; i < 300; i++) {
      edges.push([`n${i}`, `n${(i * 7 + 1) % 300}`, 1 + (i % 5)]);
      edges.push([`n${i}`, `n${(i * 13 + 2) % 300}`, 2]);
    }
    const g = trustGraphFromEdges(edges, ["late"]);
    const first = eigenTrust(g, { preTrusted: ["n0"] });
    const entries = first.nodes.map((n, i) => [n, first.trust[i] as number] as const);
    // aligned for 100 nodes, then one missing, one unknown, the rest reversed; and fully reversed
    const partly = new Map([
      ...entries.slice(0, 100),
      ["unknown", 0.5] as const,
      ...entries.slice(101).reverse(),
    ]);
    const reversed = new Map([...entries].reverse().filter(([n]) => n !== entries[100]?.[0]));
    for (const maxIterations of [1, 1000]) {
      const a = eigenTrust(g, { preTrusted: ["n0"], warmStart: partly, maxIterations });
      const b = eigenTrust(g, { preTrusted: ["n0"], warmStart: reversed, maxIterations });
      expect(a.iterations).toBe(b.iterations);
      expect([...a.trust]).toEqual([...b.trust]);
    }
    const aligned = eigenTrust(g, { preTrusted: ["n0"], warmStart: new Map(entries) });
    expect(aligned.iterations).toBeLessThan(3);
  });

  it("refuses bad options with REPUTATION_INPUT_INVALID", () => {
    const g = trustGraphFromEdges([["a", "b", 1]]);
    for (const options of [{ damping: 0 }, { damping: 2 }, { epsilon: 0 }, { maxIterations: 0 }]) {
      try {
        eigenTrust(g, { preTrusted: [], ...options });
        expect.unreachable();
      } catch (e) {
        expect(isChaosCoreError(e, "REPUTATION_INPUT_INVALID")).toBe(true);
      }
    }
  });
});

describe("raterWeights", () => {
  it("is 1 for pre-trusted peers and min(1, t·n₊) for others", () => {
    const w = raterWeights(
      { nodes: ["p", "a", "b", "z"], trust: Float64Array.from([0.5, 0.4, 0.1, 0]) },
      ["p"],
    );
    expect(Object.fromEntries(w)).toEqual({ p: 1, a: 1, b: 0.1 * 3 });
  });
});
