import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { GATEWAY_NODE_OPTIONS, gatewayNodeOptions } from "./node-options.js";

describe("gatewayNodeOptions", () => {
  it("adds the young-generation size to what the operator set, and keeps their own size", () => {
    expect(gatewayNodeOptions(undefined)).toBe(GATEWAY_NODE_OPTIONS);
    expect(gatewayNodeOptions("  ")).toBe(GATEWAY_NODE_OPTIONS);
    expect(gatewayNodeOptions("--enable-source-maps")).toBe(
      `--enable-source-maps ${GATEWAY_NODE_OPTIONS}`,
    );
    expect(gatewayNodeOptions("--max-semi-space-size=64")).toBe("--max-semi-space-size=64");
    expect(gatewayNodeOptions("--inspect --max-semi-space-size 8")).toBe(
      "--inspect --max-semi-space-size 8",
    );
  });

  it("raises the most V8's young generation grows to under load", () => {
    // Objects kept alive a while, as a gateway keeps its in-flight requests':
    // the young generation grows to its maximum. The figure is that maximum, in MiB.
    const churn = `
      const v8 = require("node:v8");
      let keep = [];
      let most = 0;
      for (let i = 0; i < 2e6; i++) {
        keep.push({ i, s: "x" + i, a: [i] });
        if (keep.length > 200000) keep = keep.slice(100000);
        if (i % 10000 === 0) {
          const young = v8.getHeapSpaceStatistics().find((x) => x.space_name === "new_space");
          most = Math.max(most, young.space_size);
        }
      }
      console.log(most / 1048576);`;
    const most = (nodeOptions: string) => {
      const r = spawnSync(process.execPath, ["-e", churn], {
        encoding: "utf8",
        env: { ...process.env, NODE_OPTIONS: nodeOptions },
      });
      expect(r.status, r.stderr).toBe(0);
      return Number(r.stdout.trim());
    };
    const without = most("");
    const withOptions = most(gatewayNodeOptions(undefined));
    expect(withOptions).toBeGreaterThanOrEqual(64);
    expect(withOptions).toBeGreaterThan(without);
  });
});
