/**
 * Cursor pagination of the gateway's list routes.
 * @module
 */

/** A page of a list route. */
export type Page<T> = { items: T[]; nextCursor: string | null };

/**
 * Iterates every item of a cursor-paginated list.
 * @example
 * for await (const a of paginate((cursor) => client.listActions({ agent, cursor }))) console.log(a.id);
 */
export async function* paginate<T>(
  page: (cursor: string | undefined) => Promise<Page<T>>,
): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const p = await page(cursor);
    yield* p.items;
    cursor = p.nextCursor ?? undefined;
  } while (cursor !== undefined);
}
