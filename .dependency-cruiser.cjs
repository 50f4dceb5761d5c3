// The package graph of docs/architecture.md, enforced (`npm run check:boundaries`).
// A source file (not a test) may import only its own package and the packages listed
// for it here; no file, test or not, reaches into another package by a relative path.
/** Workspace packages each package's sources may import (besides itself): package-graph.json. */
const ALLOWED = require("./package-graph.json").allowed;
const ALL = Object.keys(ALLOWED);
const TEST = "(\\.test\\.ts$|/test-support/)";

module.exports = {
  forbidden: [
    ...Object.entries(ALLOWED)
      .filter(([, allowed]) => allowed !== null)
      .map(([pkg, allowed]) => ({
        name: `layer-${pkg}`,
        comment: `${pkg} may import only: ${allowed.join(", ") || "nothing of ours"} (docs/architecture.md, package graph)`,
        severity: "error",
        from: { path: `^packages/${pkg}/src/`, pathNot: TEST },
        to: {
          path: `^packages/(${ALL.filter((p) => p !== pkg && !allowed.includes(p)).join("|")})/`,
        },
      })),
    {
      name: "no-relative-import-into-another-package",
      comment: "import another package by its name (@chaoscore/x), never by a path into its src",
      severity: "error",
      from: { path: "^packages/([^/]+)/" },
      to: { path: "^packages/", pathNot: ["^packages/$1/"], dependencyTypes: ["local"] },
    },
    {
      name: "no-circular",
      comment: "no import cycle between source files (a cycle of type-only imports is allowed)",
      severity: "error",
      from: { path: "^packages/", pathNot: TEST },
      to: {
        circular: true,
        pathNot: TEST,
        viaOnly: { dependencyTypesNot: ["type-only"] },
      },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      from: { path: "^packages/" },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: ["node_modules", "\\.pack/", "/corpus/", "/explorer/dist/"] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".mts", ".js", ".mjs", ".d.ts", ".json"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
