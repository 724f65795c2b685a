/**
 * `/healthz` of the sync container: is a loop or a kept watch stuck? A pure function of when each
 * last moved, the time now and the bounds. A failed liveness probe restarts the container, which
 * cures a stuck process but never an unreachable API server or a full disk: so an error counts as
 * progress (the loop retries with backoff, the watch reopens), only silence does not. Times are
 * milliseconds of a monotonic clock (a wall-clock step must not look like a stall).
 */
export interface LoopProgress {
  /** When the loop started (its first pass was asked for then). */
  readonly startedAt: number;
  /** When the pass under way began; null when none runs. */
  readonly passStartedAt: number | null;
  /** When the last pass ended, with or without an error; null before the first. */
  readonly lastPassEndedAt: number | null;
}

export interface WatchProgress {
  /** When keeping the watch began. */
  readonly startedAt: number;
  /** The last object listed or watched, or the last end of a watch or of an attempt to open one. */
  readonly lastHeardAt: number | null;
}

export interface HealthBounds {
  /** How long one pass may run. */
  readonly passMs: number;
  /** How long a loop with no pass under way may go without ending one. */
  readonly idleLoopMs: number;
  /** How long a kept watch may go without hearing anything. */
  readonly silentWatchMs: number;
}

/**
 * Bounds no healthy node reaches, idle or busy:
 * - a pass is a few API calls and one small file write: seconds at worst. 5 minutes means the
 *   pass is hung (a request on a dead connection, which the kernel would end only after ~15
 *   minutes of retransmissions).
 * - the resync marks each loop dirty every `resyncMs` whether or not anything happened, so a loop
 *   with nothing running ends a pass at least that often; 3 periods (and at least a minute, for
 *   short test periods and a loaded event loop) leave room for timer lag.
 * - an idle watch delivers no events for hours, but the API server closes every watch after
 *   240 to 480 s and the client gives up on a silent one after 510 s (cluster/kube-api.ts
 *   `watchIdleMs`); each reopen lists the object, and a failed attempt ends within its connect
 *   timeout (about 2 minutes) or, on a dead connection, the kernel's retransmission limit (~15.4
 *   minutes). 30 minutes is more than the client's idle limit, the longest backoff (30 s) and that
 *   limit together (~24.4 minutes): only a watch nothing will ever end is restarted.
 */
export function healthBounds(resyncMs: number): HealthBounds {
  return {
    passMs: 5 * 60_000,
    idleLoopMs: Math.max(3 * resyncMs, 60_000),
    silentWatchMs: 30 * 60_000,
  };
}

function seconds(ms: number): string {
  return `${String(Math.floor(ms / 1000))} s`;
}

/** null when every loop and watch moved within its bound, else every reason, `; `-separated. */
export function stuckReason(
  loops: Readonly<Record<string, LoopProgress>>,
  watches: Readonly<Record<string, WatchProgress>>,
  now: number,
  bounds: HealthBounds,
): string | null {
  const reasons: string[] = [];
  for (const [name, loop] of Object.entries(loops)) {
    if (loop.passStartedAt !== null) {
      const running = now - loop.passStartedAt;
      if (running > bounds.passMs) {
        reasons.push(
          `${name}: a pass has been running for ${seconds(running)} (limit ${seconds(bounds.passMs)})`,
        );
      }
      continue;
    }
    const idle = now - (loop.lastPassEndedAt ?? loop.startedAt);
    if (idle > bounds.idleLoopMs) {
      reasons.push(
        `${name}: no pass ${loop.lastPassEndedAt === null ? "yet" : "ended"} in ${seconds(idle)} (limit ${seconds(bounds.idleLoopMs)})`,
      );
    }
  }
  for (const [name, watch] of Object.entries(watches)) {
    const silent = now - (watch.lastHeardAt ?? watch.startedAt);
    if (silent > bounds.silentWatchMs) {
      reasons.push(
        `${name}: nothing heard in ${seconds(silent)} (limit ${seconds(bounds.silentWatchMs)})`,
      );
    }
  }
  return reasons.length === 0 ? null : reasons.join("; ");
}
