import { describe, expect, it } from "vitest";
import { startOrder } from "./supervisor.js";

const names = (services: { name: string }[]) => services.map((s) => s.name);

describe("startOrder", () => {
  it("puts each service after what it needs, and keeps the given order otherwise", () => {
    const order = startOrder([
      { name: "gateway", needs: ["database", "chain"] },
      { name: "chain", needs: ["database"] },
      { name: "database", needs: [] },
      { name: "metrics", needs: [] },
    ]);
    expect(names(order)).toEqual(["database", "chain", "gateway", "metrics"]);
  });

  it("refuses a cycle, naming it", () => {
    expect(() =>
      startOrder([
        { name: "a", needs: ["b"] },
        { name: "b", needs: ["a"] },
      ]),
    ).toThrow("the services' needs form a cycle: a → b → a");
  });

  it("refuses a need that is not a service", () => {
    expect(() => startOrder([{ name: "a", needs: ["nope"] }])).toThrow("a needs unknown nope");
  });
});
