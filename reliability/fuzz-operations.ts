/**
 * The operations of the gateway's OpenAPI document, as the fuzz reads them,
 * and the percent-encoding of generated path and query parts.
 * @module
 */
import type { Schema } from "./schema-arbitraries.js";

/** encodeURIComponent, except that a lone surrogate becomes the (invalid UTF-8) bytes ED A0 80. */
export function encodePart(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return s
      .split("")
      .map((c) => {
        try {
          return encodeURIComponent(c);
        } catch {
          return "%ED%A0%80";
        }
      })
      .join("");
  }
}

/** A parameter of an operation. */
export type Param = { name: string; in: string; required?: boolean; schema: Schema };
/** One operation of the OpenAPI document. */
export type Operation = {
  method: string;
  path: string;
  params: Param[];
  body: Schema | undefined;
};

/** The operations of an OpenAPI 3.1 document. */
export function operationsOf(doc: { paths: Record<string, Record<string, unknown>> }): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
      const op = raw as {
        parameters?: Param[];
        requestBody?: { content?: Record<string, { schema?: Schema }> };
      };
      ops.push({
        method: method.toUpperCase(),
        path,
        params: op.parameters ?? [],
        body: op.requestBody?.content?.["application/json"]?.schema,
      });
    }
  }
  return ops;
}
