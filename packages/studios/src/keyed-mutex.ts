/**
 * Runs `fn` after every earlier call with the same key has settled: one
 * writer per studio in this process, so a transition reads the state it
 * changes.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const tail = this.#tails.get(key) ?? Promise.resolve();
    const run = tail.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.#tails.set(key, settled);
    void settled.then(() => {
      if (this.#tails.get(key) === settled) this.#tails.delete(key);
    });
    return run;
  }
}
