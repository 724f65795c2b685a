/**
 * When a restarted kubelet counts as healthy. One good look is not enough: a kubelet whose
 * credential provider fails to register exits seconds after start, and systemd's Restart=
 * brings it back, so `is-active` and healthz can both say yes between crashes. The kubelet must
 * be seen active and answering healthz, as the same run of the unit (MainPID + activation
 * time), continuously for a stable window; and that run must not be the one the restart
 * replaced, whose healthz may still answer right after `systemctl restart` returns.
 */

/** Which run of a unit this is; any restart, by us or by systemd after a crash, changes it. */
export interface UnitRun {
  readonly active: boolean;
  /** `MainPID` + `ActiveEnterTimestampMonotonic`; "" when systemctl could not be asked. */
  readonly id: string;
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
  const good =
    sample.healthzOk &&
    sample.run.active &&
    sample.run.id !== "" &&
    !sample.run.id.startsWith("0@") && // MainPID 0: no process (yet)
    sample.run.id !== replacedRunId;
  if (!good) return null;
  if (window !== null && window.runId === sample.run.id) return window;
  return { runId: sample.run.id, sinceMs: sample.atMs };
}

export function isStable(window: HealthWindow, nowMs: number, stableMs: number): boolean {
  return window !== null && nowMs - window.sinceMs >= stableMs;
}
