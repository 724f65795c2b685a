import { execa } from "execa";
import {
  defaultMaxExits,
  endedRuns,
  isStable,
  nextHealthWindow,
  nextRunTally,
  unitRunId,
  type HealthWindow,
  type RunTally,
  type UnitRun,
} from "../core/rollout/health-window.ts";
import { parseKubeletVersion, type KubeletVersion } from "../core/kubelet/kubelet-version.ts";
import { InstallerError, ProcessError } from "../errors.ts";
import { healthzOk } from "./healthz.ts";

/**
 * The only module that runs processes (the repo's only `execa` import). Everything runs in
 * the host's namespaces through `nsenter --target 1`: the installer pod has hostPID, so PID 1
 * is the host's init, and its mount namespace has the host's systemctl and kubelet binaries.
 */

export type { UnitRun } from "../core/rollout/health-window.ts";

const nsenter = ["nsenter", "--target", "1", "--mount", "--uts", "--ipc", "--net", "--pid", "--"];

export interface ProcessResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs argv with a timeout; never throws for a non-zero exit (callers decide). */
export async function runInHost(
  args: readonly string[],
  timeoutMs: number,
): Promise<ProcessResult> {
  const argv = [...nsenter, ...args];
  const [file, ...rest] = argv;
  try {
    const r = await execa(file ?? "nsenter", rest, {
      timeout: timeoutMs,
      reject: false,
      stdin: "ignore",
      // The kubelet's own environment is not ours to pass on; keep PATH so tools resolve.
      extendEnv: true,
    });
    if (r.timedOut) {
      throw new ProcessError(`timed out after ${timeoutMs} ms`, {
        argv,
        exitCode: null,
        stderr: r.stderr,
      });
    }
    if (r.exitCode === undefined) {
      throw new ProcessError("could not run", {
        argv,
        exitCode: null,
        stderr: r.stderr,
        cause: r.cause,
      });
    }
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    if (e instanceof ProcessError) throw e;
    throw new ProcessError("could not run", { argv, exitCode: null, stderr: "", cause: e });
  }
}

export interface KubeletControl {
  /** Restarts the unit; returns the run it replaced, so that run's healthz is never taken for the new one's. */
  restart(unit: string): Promise<UnitRun>;
  /**
   * Healthy once a new run of the unit (not `replaced`) has been active and answering healthz
   * continuously for the stable window; not healthy when that did not happen in time, or as
   * soon as the unit has exited `maxExits` times since the restart.
   */
  waitHealthy(unit: string, replaced: UnitRun): Promise<HealthVerdict>;
}

export type HealthVerdict =
  { readonly healthy: true } | { readonly healthy: false; readonly reason: string };

export interface KubeletControlOptions {
  readonly healthzUrl: string;
  readonly restartTimeoutMs: number;
  /** How long the kubelet may take to come up (the stable window is on top of this). */
  readonly healthTimeoutMs: number;
  readonly pollIntervalMs: number;
  /** How long it must then stay up, same run, healthz OK at every poll. */
  readonly healthStableMs?: number;
  /** Give up as soon as this many runs of the unit have ended since the restart; 0: never. */
  readonly maxExits?: number;
}

export const defaultHealthStableMs = 10_000;

const runProperties = ["MainPID", "ActiveState", "ActiveEnterTimestampMonotonic"] as const;

/** `systemctl show`: whether the unit is active and which run of it this is. */
async function readUnitRun(unit: string): Promise<UnitRun> {
  const args = ["systemctl", "show", `--property=${runProperties.join(",")}`, unit];
  const r = await runInHost(args, 10_000).catch(() => null);
  if (r === null || r.exitCode !== 0) return { active: false, id: "" };
  const props = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) props.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const pid = props.get("MainPID") ?? "";
  const since = props.get("ActiveEnterTimestampMonotonic") ?? "";
  return {
    active: props.get("ActiveState") === "active",
    id: pid === "" || since === "" ? "" : unitRunId(pid, since),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function systemdKubeletControl(options: KubeletControlOptions): KubeletControl {
  const stableMs = options.healthStableMs ?? defaultHealthStableMs;
  const maxExits = options.maxExits ?? defaultMaxExits;
  return {
    async restart(unit: string): Promise<UnitRun> {
      const replaced = await readUnitRun(unit);
      const args = ["systemctl", "restart", unit];
      const r = await runInHost(args, options.restartTimeoutMs);
      if (r.exitCode !== 0) {
        throw new ProcessError(`restarting ${unit} failed`, {
          argv: [...nsenter, ...args],
          exitCode: r.exitCode,
          stderr: r.stderr,
        });
      }
      return replaced;
    },
    async waitHealthy(unit: string, replaced: UnitRun): Promise<HealthVerdict> {
      const start = performance.now();
      const upBy = start + options.healthTimeoutMs;
      let window: HealthWindow = null;
      let runs: RunTally = [];
      for (;;) {
        const run = await readUnitRun(unit);
        const healthz = run.active && (await healthzOk(options.healthzUrl));
        const now = performance.now();
        window = nextHealthWindow(window, { atMs: now, run, healthzOk: healthz }, replaced.id);
        if (isStable(window, now, stableMs)) return { healthy: true };
        runs = nextRunTally(runs, run, replaced.id);
        const exits = endedRuns(runs, run);
        if (maxExits > 0 && exits >= maxExits) {
          const secs = ((now - start) / 1000).toFixed(1);
          return {
            healthy: false,
            reason: `${unit} exited ${String(exits)} times in ${secs} s after the restart`,
          };
        }
        // Came up too late to finish a window in the time given, or never came up.
        if (window === null ? now >= upBy : now >= upBy + stableMs) {
          return {
            healthy: false,
            reason: `${unit} did not come up and stay healthy (same run, healthz OK) within ${String(Math.round(options.healthTimeoutMs / 1000))} s`,
          };
        }
        await sleep(options.pollIntervalMs);
      }
    },
  };
}

/** `kubelet --version` (or `k3s --version`, `rke2 --version`) run on the host. */
export async function detectKubeletVersion(command: string): Promise<KubeletVersion> {
  const args = [command, "--version"];
  const r = await runInHost(args, 30_000);
  const v = r.exitCode === 0 ? parseKubeletVersion(r.stdout) : null;
  if (v === null) {
    throw new InstallerError(
      "HOST_IO",
      `could not read the kubelet version from \`${args.join(" ")}\`; pass --kubelet-version`,
      {
        cause: new ProcessError("version query", {
          argv: args,
          exitCode: r.exitCode,
          stderr: r.stderr,
        }),
      },
    );
  }
  return v;
}
