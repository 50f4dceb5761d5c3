/**
 * Witnessing for a log FAMILY: one {@link WitnessingService} per shard, each
 * sending its shard's checkpoints with the shard's certificate (header
 * `ChaosCore-Shard-Certificate`, docs/spec/witness.md §3.1), so that
 * witnesses that follow the family key cosign every shard. The active shard
 * follows its writer; a frozen shard is brought up to its final checkpoint
 * and then left alone. Same surface as {@link WitnessingService} (start,
 * stop, catchUp, witnesses), so the leader's duties run either.
 * @module
 */
import { parseWitnessVerifierKey } from "@chaoscore/core";
import type { LogFamily } from "./log-family.js";
import {
  type WitnessEndpoint,
  type WitnessingOptions,
  WitnessingService,
  type WitnessOutcome,
} from "./witnessing.js";

/** Options of {@link FamilyWitnessingService}. */
export type FamilyWitnessingOptions = Omit<WitnessingOptions, "log" | "shardCertificate"> & {
  /** The family whose shards are witnessed (`engine.logs`). */
  logs: LogFamily;
};

/**
 * Sends the checkpoints of every shard of a family to the witnesses.
 * @example
 * ```ts
 * const witnessing = new FamilyWitnessingService({ logs: engine.logs, witnesses });
 * witnessing.start();
 * ```
 */
export class FamilyWitnessingService {
  readonly #options: FamilyWitnessingOptions;
  readonly #intervalMs: number;
  /** Per shard id: its service, while the shard is active or its final checkpoint lacks a cosignature. */
  readonly #services = new Map<string, WitnessingService>();
  /** Frozen shards whose final checkpoint every witness cosigned (or moved past). */
  readonly #done = new Set<string>();
  #started = false;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<WitnessOutcome[]> | undefined;

  /** @throws ChaosCoreError COSIGNATURE_MALFORMED when a witness key is malformed. */
  constructor(options: FamilyWitnessingOptions) {
    this.#options = options;
    this.#intervalMs = options.intervalMs ?? 10_000;
    // the witness keys are checked now (COSIGNATURE_MALFORMED), as WitnessingService does
    for (const w of options.witnesses) parseWitnessVerifierKey(w.verifierKey);
  }

  /** The configured witnesses. */
  get witnesses(): readonly WitnessEndpoint[] {
    return this.#options.witnesses;
  }

  /**
   * Follows the family: the active shard's writer, and every shard brought up
   * to date now and every `intervalMs` (a rotation shows up at the next round).
   */
  start(): void {
    if (this.#started || this.#options.witnesses.length === 0) return;
    this.#started = true;
    void this.catchUp().catch(() => {});
    if (this.#intervalMs > 0) {
      this.#timer = setInterval(() => void this.catchUp().catch(() => {}), this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Stops following and waits for the submissions in flight. */
  async stop(): Promise<void> {
    this.#started = false;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => {});
    await Promise.all([...this.#services.values()].map((s) => s.stop()));
  }

  /**
   * Offers each shard's latest checkpoint to the witnesses that lack its
   * cosignature (one round at a time); retires a frozen shard once every
   * witness has its final checkpoint.
   */
  catchUp(): Promise<WitnessOutcome[]> {
    this.#running ??= this.#round().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #round(): Promise<WitnessOutcome[]> {
    const outcomes: WitnessOutcome[] = [];
    for (const info of await this.#options.logs.list()) {
      if (this.#done.has(info.id)) continue;
      let service = this.#services.get(info.id);
      if (service === undefined) {
        service = new WitnessingService({
          ...this.#options,
          log: await this.#options.logs.get(info.id),
          intervalMs: 0, // this service's rounds re-offer
          ...(info.certificate === undefined ? {} : { shardCertificate: info.certificate }),
        });
        this.#services.set(info.id, service);
      }
      if (this.#started && info.state === "active") service.start();
      const round = await service.catchUp();
      outcomes.push(...round);
      if (
        info.state === "frozen" &&
        round.every((o) => o.status === "cosigned" || o.status === "superseded")
      ) {
        await service.stop();
        this.#services.delete(info.id);
        this.#done.add(info.id);
      }
    }
    return outcomes;
  }
}
