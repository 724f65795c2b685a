/**
 * When a restarted kubelet counts as healthy. One good look is not enough: a kubelet whose
 * credential provider fails to register exits seconds after start, and systemd's Restart=
 * brings it back, so `is-active` and healthz can both say yes between crashes. The kubelet must
 * be seen active and answering healthz, as the same run of the unit (MainPID + activation
 * time), continuously for a stable window; and that run must not be the one the restart
 * replaced, whose healthz may still answer right after `systemctl restart` returns.
 *
 * A kubelet that keeps exiting will not get better by waiting out the whole timeout (two
 * minutes by default, the node without a working kubelet all along): once several runs of the
 * unit have started and ended since the restart, the wait gives up early.
 */

/** Which run of a unit this is; any restart, by us or by systemd after a crash, changes it. */
export interface UnitRun {
  readonly active: boolean;
  /** `MainPID` + `ActiveEnterTimestampMonotonic`; "" when systemctl could not be asked. */
  readonly id: string;
}

function activationOf(run: UnitRun): string {
  const at = run.id.slice(run.id.indexOf("@") + 1);
  return run.id === "" || at === "" || at === "0" ? "" : at;
}

/** Active with a process (MainPID 0: none yet, or Restart= waiting). */
function isLive(run: UnitRun): boolean {
  return run.active && run.id !== "" && !run.id.startsWith("0@");
}

export interface HealthSample {
  readonly atMs: number;
  readonly run: UnitRun;
  readonly healthzOk: boolean;
}

/** The run being watched and since when it has been good without a break; null: no good run. */
export type HealthWindow = { readonly runId: string; readonly sinceMs: number } | null;

export function unitRunId(mainPid: string, activeEnterMonotonic: string): string {
  return `${mainPid}@${activeEnterMonotonic}`;
}

export function nextHealthWindow(
  window: HealthWindow,
  sample: HealthSample,
  replacedRunId: string,
): HealthWindow {
  const good = sample.healthzOk && isLive(sample.run) && sample.run.id !== replacedRunId;
  if (!good) return null;
  if (window !== null && window.runId === sample.run.id) return window;
  return { runId: sample.run.id, sinceMs: sample.atMs };
}

export function isStable(window: HealthWindow, nowMs: number, stableMs: number): boolean {
  return window !== null && nowMs - window.sinceMs >= stableMs;
}

/**
 * The runs of the unit started since the restart (their activation times, oldest first). A
 * run is told by `ActiveEnterTimestampMonotonic`, which systemd keeps after the process exits
 * (MainPID is 0 while Restart= waits), so a run that came and went between two polls is still
 * counted once a later poll shows a newer one; only runs that no poll saw at all are missed,
 * which makes the count err on the side of waiting longer.
 */
export type RunTally = readonly string[];

/** Three exits: one can be bad luck, three in a row is the configuration. */
export const defaultMaxExits = 3;

export function nextRunTally(tally: RunTally, run: UnitRun, replacedRunId: string): RunTally {
  const at = activationOf(run);
  const replacedAt = activationOf({ active: false, id: replacedRunId });
  if (at === "" || at === replacedAt || tally.includes(at)) return tally;
  return [...tally, at];
}

/** How many of the counted runs have ended: all but the latest, and the latest unless it is up. */
export function endedRuns(tally: RunTally, latest: UnitRun): number {
  const current = tally.at(-1);
  const up = current !== undefined && isLive(latest) && activationOf(latest) === current;
  return up ? tally.length - 1 : tally.length;
}
