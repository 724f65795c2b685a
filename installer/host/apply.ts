import type { Credential } from "../../provider/core/keyring.ts";
import type { Settings } from "../core/settings/configmap.ts";
import {
  desiredNodeState,
  providerBinaryPath,
  type CurrentFile,
  type DesiredDir,
  type DesiredState,
} from "../core/plan/desired-state.ts";
import { decideWiring } from "../core/node/existing-provider.ts";
import {
  detectFlavour,
  isRefusal,
  layoutFor,
  nodecredPaths,
  restartUnit,
  type FlavourName,
  type Layout,
} from "../core/node/flavour.ts";
import { hostPathParents } from "../core/node/host-path.ts";
import { configFlag } from "../core/node/kubelet-flags.ts";
import type { KubeletVersion } from "../core/kubelet/kubelet-version.ts";
import {
  planApply,
  type CurrentDir,
  type FileRemoval,
  type FileWrite,
  type Plan,
} from "../core/plan/plan.ts";
import {
  backupPathFor,
  emptyState,
  failedBefore,
  findOwned,
  sha256Hex,
  wiringRoles,
  withFile,
  withoutFailure,
  type FailedApply,
  type NodeState,
  type OwnedFile,
} from "../core/node/state.ts";
import { InstallerError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { KubeletControl, UnitRun } from "../process/kubelet-control.ts";
import {
  ensureDir,
  readCurrentDir,
  readCurrentFile,
  removeDirIfEmpty,
  removeFile,
  removeStaleTemps,
  writeFileAtomic,
} from "./atomic-write.ts";
import { readHostFacts } from "./host-facts.ts";
import { readKubeletCommandLine } from "./kubelet-unit.ts";
import { defaultLockTimeoutMs, withNodeLock } from "./node-lock.ts";
import type { HostPaths } from "./host-paths.ts";
import { loadState, saveState } from "./state-store.ts";

/**
 * The shell around the core for `apply`: read the host, ask the core for the plan, carry it
 * out with backups and a write-ahead state record, restart the kubelet if its wiring changed,
 * and put everything back if the kubelet does not come back healthy.
 */

export interface ApplyRequest {
  readonly paths: HostPaths;
  readonly settings: Settings;
  readonly credentials: readonly Credential[];
  readonly providerBinary: Uint8Array;
  readonly flavour: FlavourName | null;
  /** Called only when the version is needed and was not given. */
  readonly kubeletVersion: (layout: Layout) => Promise<KubeletVersion | undefined>;
  /** null: `--restart none`, the restart is left to the operator. */
  readonly control: KubeletControl | null;
  readonly dryRun: boolean;
  readonly log: Logger;
  /** Attempt these inputs even though they already failed on this node. */
  readonly retryFailed?: boolean;
  /** How long to wait for another installer on this node; default defaultLockTimeoutMs. */
  readonly lockTimeoutMs?: number;
}

export interface ApplyOutcome {
  readonly flavour: FlavourName;
  readonly kubeletConfigHash: string;
  readonly plan: Plan;
  readonly desired: DesiredState;
  readonly changed: readonly string[];
  readonly restarted: boolean;
  readonly restartPending: boolean;
}

export interface ResolvedHost {
  readonly layout: Layout;
  readonly unit: string;
}

/** Flavour (given or detected) → layout, refusing hosts we must not touch. */
export async function resolveHost(
  paths: HostPaths,
  flavour: FlavourName | null,
): Promise<ResolvedHost> {
  const facts = await readHostFacts(paths);
  const name = flavour ?? detectFlavour(facts);
  if (name === null) {
    throw new InstallerError(
      "UNSUPPORTED_HOST",
      "could not tell what kind of node this is (no kubelet env file, cloud provider config, k3s/RKE2 directory or known os-release ID); pass --flavour",
    );
  }
  const layout = layoutFor(name);
  if (isRefusal(layout)) {
    throw new InstallerError(
      "UNSUPPORTED_HOST",
      `refusing to change this node (${name}): ${layout.reason}`,
    );
  }
  return { layout, unit: restartUnit(name, facts) };
}

async function readFiles(
  paths: HostPaths,
  list: readonly string[],
): Promise<Map<string, CurrentFile | null>> {
  const out = new Map<string, CurrentFile | null>();
  for (const p of list) out.set(p, await readCurrentFile(paths.resolve(p)));
  return out;
}

/**
 * Creates the state and backup dirs, recording the ones we created (and those the lock had to
 * create) so uninstall removes them.
 */
async function ensureStateDirs(
  paths: HostPaths,
  state: NodeState,
  lockDirs: readonly string[],
): Promise<NodeState> {
  let st = state;
  const created: string[] = [...lockDirs];
  for (const d of [...hostPathParents(nodecredPaths.backupDir), nodecredPaths.backupDir]) {
    if ((await readCurrentDir(paths.resolve(d))) !== null) continue;
    const ours = d === nodecredPaths.stateDir || d === nodecredPaths.backupDir;
    await ensureDir(paths.resolve(d), ours ? 0o700 : 0o755);
    created.push(d);
  }
  if (created.length > 0)
    st = { ...st, dirs: [...st.dirs, ...created.filter((d) => !st.dirs.includes(d))] };
  return st;
}

/** True when the file no longer holds what we last wrote (someone else changed it since). */
function changedSinceOurWrite(owned: OwnedFile, before: CurrentFile | null): boolean {
  if (owned.writtenSha256 === null) return false; // our write never completed: unknown
  return before === null || sha256Hex(before.bytes) !== owned.writtenSha256;
}

/**
 * The layout with the node's own credential provider taken into account (core/existing-provider):
 * ours, merged into theirs, or refused (exit 4, nothing written).
 */
async function existingProviderLayout(
  paths: HostPaths,
  layout: Layout,
  unit: string,
  log: Logger,
): Promise<Layout> {
  const commandLine = await readKubeletCommandLine(paths, layout, unit, log);
  const decision = decideWiring(layout, commandLine);
  if (decision.kind === "refuse") {
    throw new InstallerError("UNSUPPORTED_HOST", `refusing to change this node: ${decision.why}`);
  }
  if (decision.kind === "ours") return decision.layout;
  if ((await readCurrentFile(paths.resolve(decision.layout.configPath))) === null) {
    throw new InstallerError(
      "UNSUPPORTED_HOST",
      `refusing to change this node: its kubelet's ${configFlag} points at ${decision.layout.configPath}, which does not exist; the kubelet would not start with it either`,
    );
  }
  log.info("merging into the node's own credential provider config", {
    action: "merge",
    path: decision.layout.configPath,
    reason: decision.why,
  });
  return decision.layout;
}

interface Undo {
  readonly path: string;
  readonly before: CurrentFile | null;
}

export async function applyNode(req: ApplyRequest): Promise<ApplyOutcome> {
  // Refusing a host reads only, so it needs no lock (and a read-only host could not take one).
  const host = await resolveHost(req.paths, req.flavour);
  if (req.dryRun) return applyLocked(req, host, []);
  return withNodeLock(
    req.paths,
    { timeoutMs: req.lockTimeoutMs ?? defaultLockTimeoutMs, command: "apply", log: req.log },
    (lock) => applyLocked(req, host, lock.createdDirs),
  );
}

/** What this node should be and the plan to get there, read and computed without a write. */
interface Planned {
  readonly layout: Layout;
  readonly previous: NodeState | null;
  readonly desired: DesiredState;
  readonly plan: Plan;
  readonly providerSha256: string;
}

async function applyLocked(
  req: ApplyRequest,
  resolved: ResolvedHost,
  lockDirs: readonly string[],
): Promise<ApplyOutcome> {
  const planned = await planNode(req, resolved);
  const { layout, desired, plan } = planned;
  const outcome = {
    flavour: layout.flavour,
    kubeletConfigHash: desired.kubeletConfigHash,
    plan,
    desired,
  };
  if (req.dryRun) {
    return { ...outcome, changed: [], restarted: false, restartPending: plan.restart !== null };
  }
  const run = new ApplyRun(req, {
    ...(planned.previous ?? emptyState(layout.flavour, resolved.unit)),
    flavour: layout.flavour,
    unit: resolved.unit,
    providerNames: [
      ...new Set([...(planned.previous?.providerNames ?? []), ...desired.providerNames]),
    ],
  });
  await run.prepare(desired, plan, lockDirs);
  for (const d of plan.mkdirs) await run.mkdir(d);
  for (const w of plan.writes) await run.write(w);
  // Files no longer wanted (nodecred 0.1's credentials file, a renamed provider's binary) may
  // still be named by the config the running kubelet read: they go once it no longer runs it.
  if (plan.restart === null) {
    await run.removeAll(plan.removals);
    // Nothing for the kubelet to prove: these inputs are good, an older failure is moot.
    await run.clearFailure();
    return { ...outcome, changed: run.changed, restarted: false, restartPending: false };
  }
  if (req.control === null) {
    req.log.warn("kubelet restart needed but --restart none was given; restart it yourself", {
      action: "restart-skipped",
      unit: plan.restart.unit,
      reason: plan.restart.reasons.join("; "),
    });
    for (const r of plan.removals) {
      req.log.info("kept until the kubelet restarts", {
        action: "keep",
        path: r.path,
        reason: r.role,
      });
    }
    return { ...outcome, changed: run.changed, restarted: false, restartPending: true };
  }
  const state = await restartOrRollBack(
    req,
    plan.restart.unit,
    plan.restart.reasons,
    { files: run.undo, dirs: run.createdDirs },
    run.state,
    { configHash: desired.kubeletConfigHash, providerSha256: planned.providerSha256 },
  );
  run.state = state;
  await run.removeAll(plan.removals);
  return { ...outcome, changed: run.changed, restarted: true, restartPending: false };
}

/**
 * Reads what the plan needs (the wiring, the kubelet version, the state, the files) and asks the
 * core: the desired state (refused: exit 3, nothing changed), a config already rolled back here
 * (exit 8 unless --retry-failed), the plan.
 */
async function planNode(req: ApplyRequest, resolved: ResolvedHost): Promise<Planned> {
  const { paths, log } = req;
  const layout = await existingProviderLayout(paths, resolved.layout, resolved.unit, log);
  const kubeletVersion = await req.kubeletVersion(layout);
  if (kubeletVersion === undefined) {
    log.warn("kubelet version unknown: config checked without version rules", {
      flavour: layout.flavour,
    });
  }
  const previous = await loadState(paths);
  // The policy file too: credential sets keep the credentials it holds for Secrets apply cannot see.
  const inputPaths = [
    layout.configPath,
    nodecredPaths.policyFile,
    providerBinaryPath(layout, req.settings),
  ];
  if (layout.wiring.kind === "flags") inputPaths.push(layout.wiring.flagsFile);
  const desiredResult = desiredNodeState({
    settings: req.settings,
    credentials: req.credentials,
    providerBinary: req.providerBinary,
    layout,
    unit: resolved.unit,
    ...(kubeletVersion === undefined ? {} : { kubeletVersion }),
    current: await readFiles(paths, inputPaths),
    state: previous,
  });
  if (!desiredResult.ok) {
    throw new InstallerError(
      "INVALID_INPUT",
      "the configuration would not start the kubelet; nothing changed",
      { problems: desiredResult.problems },
    );
  }
  const desired = desiredResult.value;
  const providerSha256 = sha256Hex(req.providerBinary);
  checkFailedBefore(req, previous, desired.kubeletConfigHash, providerSha256);
  const ownedPaths = (previous?.files ?? []).map((f) => f.path);
  const currentFiles = await readFiles(paths, [...desired.files.map((f) => f.path), ...ownedPaths]);
  const currentDirs = new Map<string, CurrentDir | null>();
  for (const d of desired.dirs) {
    currentDirs.set(d.path, await readCurrentDir(paths.resolve(d.path)));
  }
  const plan = planApply(desired, currentFiles, currentDirs, previous);
  return { layout, previous, desired, plan, providerSha256 };
}

/** These inputs already failed on this node: refused (exit 8), retried, or said in a dry run. */
function checkFailedBefore(
  req: ApplyRequest,
  previous: NodeState | null,
  configHash: string,
  providerSha256: string,
): void {
  const failed = failedBefore(previous, configHash, providerSha256);
  if (failed === undefined) return;
  const what = `kubelet config ${configHash} with provider sha256 ${providerSha256.slice(0, 12)}… already failed on this node at ${failed.at} (${failed.reason})`;
  if (req.retryFailed === true) {
    req.log.warn(`${what}; trying again (--retry-failed)`, { action: "retry-failed" });
  } else if (req.dryRun) {
    req.log.warn(`${what}; apply will refuse it without --retry-failed`, { action: "plan" });
  } else {
    throw new InstallerError(
      "CONFIG_FAILED_BEFORE",
      `${what}; not restarting the kubelet with it again. Change the ConfigMap, or run apply with --retry-failed to try it once more`,
    );
  }
}

/**
 * One apply carrying out its plan: every change recorded in the state file before it is made
 * (write-ahead), backups taken before someone else's file is first changed, and what it did kept
 * for a rollback (`undo`, `createdDirs`) and for the summary (`changed`).
 */
class ApplyRun {
  readonly changed: string[] = [];
  readonly undo: Undo[] = [];
  readonly createdDirs: string[] = [];
  state: NodeState;
  readonly #req: ApplyRequest;

  constructor(req: ApplyRequest, state: NodeState) {
    this.#req = req;
    this.state = state;
  }

  async #save(next: NodeState): Promise<void> {
    this.state = next;
    await saveState(this.#req.paths, next);
  }

  /** Stale temp files of a killed run go; the state and backup dirs exist before anything else. */
  async prepare(desired: DesiredState, plan: Plan, lockDirs: readonly string[]): Promise<void> {
    const { paths } = this.#req;
    for (const d of new Set(desired.files.map((f) => f.path.slice(0, f.path.lastIndexOf("/"))))) {
      await removeStaleTemps(paths.resolve(d));
    }
    await removeStaleTemps(paths.resolve(nodecredPaths.stateDir));
    if (plan.writes.length === 0 && plan.removals.length === 0 && plan.mkdirs.length === 0) return;
    await this.#save(await ensureStateDirs(paths, this.state, lockDirs));
  }

  async mkdir(d: DesiredDir): Promise<void> {
    const { paths, log } = this.#req;
    const exists = (await readCurrentDir(paths.resolve(d.path))) !== null;
    if (!exists) this.createdDirs.push(d.path);
    if (!exists && !this.state.dirs.includes(d.path)) {
      await this.#save({ ...this.state, dirs: [...this.state.dirs, d.path] }); // write-ahead
    }
    await ensureDir(paths.resolve(d.path), d.mode);
    log.info("directory ready", { action: exists ? "chmod" : "mkdir", path: d.path });
  }

  async write(w: FileWrite): Promise<void> {
    const { paths, log } = this.#req;
    const owned = await this.#owner(w);
    // Write-ahead: until the write is done, what the file holds is ours either way (the bytes we
    // wrote last time or the new ones), so "unknown" (null) rather than a stale hash that would
    // make the next run take our own half-done write for someone else's change.
    const pending = withFile(this.state, { ...owned, writtenSha256: null });
    const rewires = wiringRoles.has(w.role) && w.action !== "chmod";
    await this.#save(rewires ? { ...pending, pendingRestart: true } : pending);
    this.undo.push({ path: w.path, before: w.before });
    await writeFileAtomic(paths.resolve(w.path), w.bytes, w.mode);
    await this.#save(withFile(this.state, { ...owned, writtenSha256: sha256Hex(w.bytes) }));
    this.changed.push(w.path);
    log.info("file written", { action: w.action, path: w.path, reason: w.role });
  }

  /** The file's record: ours already, or taken now (someone else's is backed up first). */
  async #owner(w: FileWrite): Promise<OwnedFile> {
    const { paths, log } = this.#req;
    const owned = findOwned(this.state, w.path);
    if (owned !== undefined && owned.backup !== null && changedSinceOurWrite(owned, w.before)) {
      // Someone else edited the file after our last write: the backup is older than what it
      // would replace. Uninstall takes our part out of the file in place instead.
      await removeFile(paths.resolve(owned.backup));
      const dropped = { ...owned, backup: null, originalMode: null };
      await this.#save(withFile(this.state, dropped));
      log.info("backup dropped: the file changed since nodecred wrote it", {
        action: "backup",
        path: w.path,
      });
      return dropped;
    }
    if (owned !== undefined) return owned;
    // Keys in the state file's order (its bytes are compared in the golden trees).
    const { path, role } = w;
    if (w.before === null) {
      return {
        path,
        role,
        origin: "created",
        backup: null,
        originalMode: null,
        writtenSha256: null,
      };
    }
    const backup = backupPathFor(nodecredPaths.backupDir, w.path);
    await writeFileAtomic(paths.resolve(backup), w.before.bytes, 0o600);
    log.info("backed up", { action: "backup", path: w.path, reason: backup });
    return {
      path,
      role,
      origin: "modified",
      backup,
      originalMode: w.before.mode,
      writtenSha256: null,
    };
  }

  async removeAll(removals: readonly FileRemoval[]): Promise<void> {
    const { paths, log } = this.#req;
    for (const r of removals) {
      await removeFile(paths.resolve(r.path));
      await this.#save({ ...this.state, files: this.state.files.filter((f) => f.path !== r.path) });
      this.changed.push(r.path);
      log.info("file removed", { action: "remove", path: r.path, reason: r.role });
    }
  }

  async clearFailure(): Promise<void> {
    if (this.state.failedApply !== undefined) await this.#save(withoutFailure(this.state));
  }
}

async function restartAndWait(
  control: KubeletControl,
  unit: string,
  log: Logger,
): Promise<unknown> {
  let replaced: UnitRun;
  try {
    replaced = await control.restart(unit);
  } catch (e) {
    log.error("restart command failed", { action: "restart", unit, code: "HOST_IO" });
    return e;
  }
  const verdict = await control.waitHealthy(unit, replaced);
  if (verdict.healthy) return null;
  return new InstallerError("ROLLED_BACK", verdict.reason);
}

async function restartOrRollBack(
  req: ApplyRequest,
  unit: string,
  reasons: readonly string[],
  undo: { readonly files: readonly Undo[]; readonly dirs: readonly string[] },
  stateAfter: NodeState,
  inputs: Pick<FailedApply, "configHash" | "providerSha256">,
): Promise<NodeState> {
  const { paths, log } = req;
  const control = req.control;
  if (control === null) return stateAfter;
  log.info("restarting kubelet", { action: "restart", unit, reason: reasons.join("; ") });
  const failure = await restartAndWait(control, unit, log);
  if (failure === null) {
    const healthy = { ...withoutFailure(stateAfter), pendingRestart: false };
    await saveState(paths, healthy);
    log.info("kubelet healthy", { action: "healthy", unit });
    return healthy;
  }
  const why = failure instanceof Error ? failure.message : "the restart failed";
  log.error("kubelet not healthy after restart: restoring previous files", {
    action: "rollback",
    unit,
    reason: why,
  });
  let state = stateAfter;
  for (const u of [...undo.files].reverse()) {
    if (u.before === null) await removeFile(paths.resolve(u.path));
    else await writeFileAtomic(paths.resolve(u.path), u.before.bytes, u.before.mode);
    const owned = findOwned(state, u.path);
    if (owned !== undefined) {
      state = withFile(state, {
        ...owned,
        writtenSha256: u.before === null ? null : sha256Hex(u.before.bytes),
      });
    }
    log.info("file restored", { action: "rollback", path: u.path });
  }
  for (const d of [...undo.dirs].reverse()) {
    if (await removeDirIfEmpty(paths.resolve(d))) {
      state = { ...state, dirs: state.dirs.filter((x) => x !== d) };
    }
  }
  await saveState(paths, state);
  const second = await restartAndWait(control, unit, log);
  if (second !== null) {
    throw new InstallerError(
      "ROLLBACK_FAILED",
      `${unit} is not healthy even after restoring the previous files; the node needs attention`,
      { cause: second },
    );
  }
  // Remembered so that a retried apply (the init container restarting with backoff) does not
  // restart the kubelet twice more with the same inputs; only a rollback proves them bad.
  const failedApply: FailedApply = {
    ...inputs,
    at: new Date().toISOString(),
    reason: why.slice(0, 500),
  };
  await saveState(paths, { ...state, pendingRestart: false, failedApply });
  throw new InstallerError(
    "ROLLED_BACK",
    `${unit} did not come back healthy with the new configuration (${why}); the previous files were restored and ${unit} is healthy again`,
    { cause: failure },
  );
}
