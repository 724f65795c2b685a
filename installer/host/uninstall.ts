import { isRefusal, layoutFor, nodecredPaths } from "../core/node/flavour.ts";
import type { CurrentFile } from "../core/plan/desired-state.ts";
import { planUninstall, uninstallInputs, type Plan } from "../core/plan/plan.ts";
import { InstallerError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { KubeletControl } from "../process/kubelet-control.ts";
import {
  readCurrentFile,
  removeDirIfEmpty,
  removeFile,
  removeStaleTemps,
  writeFileAtomic,
} from "./atomic-write.ts";
import type { HostPaths } from "./host-paths.ts";
import { defaultLockTimeoutMs, withNodeLock, type NodeLock } from "./node-lock.ts";
import { loadState, saveState } from "./state-store.ts";

/**
 * `uninstall`: undo what the state file records. Wiring goes first so the kubelet never
 * points at a removed binary; the state file goes last, so a killed uninstall can be re-run.
 */

export interface UninstallRequest {
  readonly paths: HostPaths;
  readonly control: KubeletControl | null;
  readonly dryRun: boolean;
  readonly log: Logger;
  /** How long to wait for another installer on this node; default defaultLockTimeoutMs. */
  readonly lockTimeoutMs?: number;
}

export interface UninstallOutcome {
  readonly plan: Plan | null;
  readonly changed: readonly string[];
  readonly restarted: boolean;
  readonly restartPending: boolean;
}

export async function uninstallNode(req: UninstallRequest): Promise<UninstallOutcome> {
  if (req.dryRun) return uninstallLocked(req, null);
  return withNodeLock(
    req.paths,
    { timeoutMs: req.lockTimeoutMs ?? defaultLockTimeoutMs, command: "uninstall", log: req.log },
    (lock) => uninstallLocked(req, lock),
  );
}

async function uninstallLocked(
  req: UninstallRequest,
  lock: NodeLock | null,
): Promise<UninstallOutcome> {
  const { paths, log } = req;
  const state = await loadState(paths);
  if (state === null) {
    log.info("nothing to uninstall: no nodecred state on this node", {
      path: nodecredPaths.stateFile,
    });
    return { plan: null, changed: [], restarted: false, restartPending: false };
  }
  const current = new Map<string, CurrentFile | null>();
  for (const p of uninstallInputs(state)) current.set(p, await readCurrentFile(paths.resolve(p)));
  const layout = layoutFor(state.flavour);
  const planned = planUninstall(state, isRefusal(layout) ? null : layout, current);
  if (!planned.ok) {
    throw new InstallerError("HOST_IO", "cannot undo nodecred's changes safely", {
      problems: planned.problems,
    });
  }
  const plan = planned.value;
  if (req.dryRun)
    return { plan, changed: [], restarted: false, restartPending: plan.restart !== null };

  const changed: string[] = [];
  if (plan.restart !== null) await saveState(paths, { ...state, pendingRestart: true });
  for (const w of plan.writes) {
    await writeFileAtomic(paths.resolve(w.path), w.bytes, w.mode);
    changed.push(w.path);
    log.info("file restored", { action: "restore", path: w.path, reason: w.role });
  }
  for (const r of plan.removals) {
    await removeFile(paths.resolve(r.path));
    changed.push(r.path);
    log.info("file removed", { action: "remove", path: r.path, reason: r.role });
  }
  let restarted = false;
  if (plan.restart !== null && req.control !== null) {
    log.info("restarting kubelet", {
      action: "restart",
      unit: plan.restart.unit,
      reason: plan.restart.reasons.join("; "),
    });
    const replaced = await req.control.restart(plan.restart.unit);
    const verdict = await req.control.waitHealthy(plan.restart.unit, replaced);
    if (!verdict.healthy) {
      // Nothing to roll back to that would be safer: the node is back on its own wiring.
      throw new InstallerError(
        "ROLLBACK_FAILED",
        `${plan.restart.unit} is not healthy after removing nodecred: ${verdict.reason}`,
      );
    }
    restarted = true;
  } else if (plan.restart !== null) {
    log.warn("kubelet restart needed but --restart none was given; restart it yourself", {
      action: "restart-skipped",
      unit: plan.restart.unit,
    });
  }
  // Bookkeeping last: backups and state, then the directories we created.
  for (const f of state.files) {
    if (f.backup !== null) await removeFile(paths.resolve(f.backup));
  }
  await removeFile(paths.resolve(nodecredPaths.stateFile));
  // The lock file lives in the state directory, which goes next. With the state file gone, an
  // installer that takes the lock now starts from a clean node.
  await lock?.release();
  // A killed run may have left temp files; they would keep our directories from going away.
  for (const d of [...plan.rmdirs, nodecredPaths.backupDir, nodecredPaths.stateDir]) {
    await removeStaleTemps(paths.resolve(d));
  }
  for (const d of plan.rmdirs) {
    if (await removeDirIfEmpty(paths.resolve(d)))
      log.info("directory removed", { action: "rmdir", path: d });
  }
  return { plan, changed, restarted, restartPending: plan.restart !== null && !restarted };
}
