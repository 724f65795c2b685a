import type { Backoff } from "./backoff.ts";
import type { LoopProgress } from "./health.ts";

/**
 * Level-triggered reconciliation: watch events only mark the state dirty; one loop (never two at
 * once) reads the latest objects and converges. A periodic resync marks dirty too, catching
 * anything a watch missed; a failed pass is retried with backoff. `stop()` lets the pass under way
 * finish (a write in progress completes) and runs no other. `progress()` says when a pass last
 * started and ended, for /healthz (health.ts).
 */
export class ReconcileLoop {
  readonly #reconcile: () => Promise<void>;
  readonly #backoff: Backoff;
  readonly #onError: (err: unknown) => void;
  readonly #resyncMs: number;
  readonly #now: () => number;
  #startedAt: number;
  #passStartedAt: number | null = null;
  #lastPassEndedAt: number | null = null;
  #dirty = false;
  #stopped = false;
  #running: Promise<void> | null = null;
  #resync: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;

  constructor(options: {
    reconcile: () => Promise<void>;
    backoff: Backoff;
    resyncMs: number;
    onError: (err: unknown) => void;
    /** A monotonic clock in ms (health.ts); tests step it by hand. */
    now?: () => number;
  }) {
    this.#reconcile = options.reconcile;
    this.#backoff = options.backoff;
    this.#resyncMs = options.resyncMs;
    this.#onError = options.onError;
    this.#now = options.now ?? (() => performance.now());
    this.#startedAt = this.#now();
  }

  start(): void {
    this.#startedAt = this.#now();
    this.#resync = setInterval(() => {
      this.markDirty();
    }, this.#resyncMs);
    this.markDirty();
  }

  markDirty(): void {
    if (this.#stopped) return;
    this.#dirty = true;
    this.#running ??= this.#drain();
  }

  progress(): LoopProgress {
    return {
      startedAt: this.#startedAt,
      passStartedAt: this.#passStartedAt,
      lastPassEndedAt: this.#lastPassEndedAt,
    };
  }

  /** Resolves when no pass is running or pending (tests and shutdown use it). */
  async idle(): Promise<void> {
    while (this.#running !== null) await this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#resync);
    clearTimeout(this.#retry);
    await this.idle();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#dirty && !this.#stopped) {
        this.#dirty = false;
        this.#passStartedAt = this.#now();
        try {
          await this.#reconcile();
          this.#backoff.reset();
        } catch (err) {
          this.#onError(err);
          clearTimeout(this.#retry);
          this.#retry = setTimeout(() => {
            this.markDirty();
          }, this.#backoff.next());
        } finally {
          // An error ends a pass too: the loop is alive and retrying (health.ts).
          this.#passStartedAt = null;
          this.#lastPassEndedAt = this.#now();
        }
      }
    } finally {
      this.#running = null;
    }
  }
}
