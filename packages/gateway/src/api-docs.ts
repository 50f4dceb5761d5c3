/**
 * The routes table of docs/api.md, generated from the OpenAPI document
 * (`npm run docs:api` writes it; `api-docs.int.test.ts` fails when the file
 * and the document differ).
 * @module
 */

type Operation = { summary?: string; security?: Record<string, unknown>[] };

/** Where the generated table starts and ends in docs/api.md. */
export const API_TABLE_BEGIN =
  "<!-- routes: generated from /openapi.json by `npm run docs:api` -->";
export const API_TABLE_END = "<!-- end of routes -->";

/** Who may call an operation, in the words of docs/api.md. */
function authOf(op: Operation): string {
  const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
  if (schemes.length === 0) return "—";
  return schemes.includes("agentSignature") ? "agent or key" : "operator key";
}

/** The markdown table of every operation: method, path, auth and summary, padded. */
export function routesTable(doc: { paths: Record<string, Record<string, Operation>> }): string {
  const rows: string[][] = [["method", "path", "auth", "what"]];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      rows.push([
        method.toUpperCase(),
        `\`${path}\``,
        authOf(op),
        (op.summary ?? "").replace(/\|/g, "\\|"),
      ]);
    }
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  const [header, ...body] = rows as [string[], ...string[][]];
  return [
    line(header),
    `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`,
    ...body.map(line),
  ].join("\n");
}

/** `markdown` with the text between the markers replaced by `table`. */
export function replaceRoutesTable(markdown: string, table: string): string {
  const begin = markdown.indexOf(API_TABLE_BEGIN);
  const end = markdown.indexOf(API_TABLE_END);
  if (begin < 0 || end < begin) throw new Error("docs/api.md has no routes table markers");
  return `${markdown.slice(0, begin + API_TABLE_BEGIN.length)}\n\n${table}\n\n${markdown.slice(end)}`;
}
