/**
 * The explorer's browser sources (DOM, outside any package's src) typecheck with
 * their own tsconfig: the root typecheck does not see them, so this test does.
 */
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

describe("explorer sources", () => {
  it("typecheck with the DOM library (packages/gateway/explorer/tsconfig.json)", () => {
    const configPath = join(import.meta.dirname, "..", "explorer", "tsconfig.json");
    const config = ts.getParsedCommandLineOfConfigFile(
      configPath,
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
        },
      },
    );
    if (config === undefined) throw new Error("no explorer tsconfig");
    const program = ts.createProgram(config.fileNames, config.options);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file?.fileName.replace(/^.*packages\//, "packages/") ?? "";
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`;
    });
    expect(problems).toEqual([]);
  }, 60_000);
});
