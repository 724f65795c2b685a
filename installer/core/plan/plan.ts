import type { CurrentFile, DesiredDir, DesiredState } from "./desired-state.ts";
import type { Layout } from "../node/flavour.ts";
import { editKubeletFlagsFile } from "../node/kubelet-flags.ts";
import { bytesOf, byteString, sameBytes } from "../node/byte-string.ts";
import { providerNamesIn, removeProviders } from "../kubelet/merge-config.ts";
import { problem, type Problem, type Result } from "../problems.ts";
import {
  applyOrder,
  sha256Hex,
  wiringRoles,
  type FileRole,
  type NodeState,
  type OwnedFile,
} from "../node/state.ts";

/**
 * The difference between a node and its desired state, as a list of actions. Apply and
 * uninstall both produce a Plan; the shell carries it out in order and nothing else.
 */

export interface FileWrite {
  readonly path: string;
  readonly role: FileRole;
  readonly action: "create" | "update" | "chmod" | "restore";
  readonly before: CurrentFile | null;
  readonly mode: number;
  readonly bytes: Uint8Array;
}

export interface FileRemoval {
  readonly path: string;
  readonly role: FileRole;
  readonly before: CurrentFile;
}

export interface Restart {
  readonly unit: string;
  readonly reasons: readonly string[];
}

export interface Plan {
  /** Directories to create (missing) or chmod (ours, wrong mode), parents first. */
  readonly mkdirs: readonly DesiredDir[];
  readonly writes: readonly FileWrite[];
  readonly removals: readonly FileRemoval[];
  /**
   * apply: files no longer wanted go once the kubelet no longer runs a config that may name them
   * (after its restart, if one is planned). uninstall: in order, before the restart.
   */
  readonly removalsAfterRestart: boolean;
  /** Directories to remove if empty (uninstall), deepest first. */
  readonly rmdirs: readonly string[];
  readonly restart: Restart | null;
}

export interface CurrentDir {
  readonly mode: number;
}

/** Compare-first: only what differs in bytes or mode is written. */
export function planApply(
  desired: DesiredState,
  currentFiles: ReadonlyMap<string, CurrentFile | null>,
  currentDirs: ReadonlyMap<string, CurrentDir | null>,
  state: NodeState | null,
): Plan {
  const mkdirs = desired.dirs.filter((d) => {
    const cur = currentDirs.get(d.path) ?? null;
    return cur === null || (d.owned && (cur.mode & 0o7777) !== d.mode);
  });
  const writes: FileWrite[] = [];
  const reasons: string[] = [];
  for (const f of desired.files) {
    const before = currentFiles.get(f.path) ?? null;
    let action: FileWrite["action"] | null = null;
    if (before === null) action = "create";
    else if (!sameBytes(before.bytes, f.bytes)) action = "update";
    else if ((before.mode & 0o7777) !== f.mode) action = "chmod";
    if (action === null) continue;
    writes.push({ path: f.path, role: f.role, action, before, mode: f.mode, bytes: f.bytes });
    if (wiringRoles.has(f.role) && action !== "chmod")
      reasons.push(`${f.role} ${f.path} ${action}d`);
  }
  // Files we created earlier that are no longer wanted (e.g. the provider was renamed).
  const wanted = new Set(desired.files.map((f) => f.path));
  const removals: FileRemoval[] = [];
  for (const owned of state?.files ?? []) {
    if (owned.origin !== "created" || wanted.has(owned.path)) continue;
    const before = currentFiles.get(owned.path) ?? null;
    if (before !== null) removals.push({ path: owned.path, role: owned.role, before });
  }
  if (state?.pendingRestart === true && reasons.length === 0) {
    reasons.push("an earlier run changed the kubelet's wiring and did not finish its restart");
  }
  return {
    mkdirs,
    writes,
    removals,
    removalsAfterRestart: true,
    rmdirs: [],
    restart: reasons.length > 0 ? { unit: desired.unit, reasons } : null,
  };
}

/** Paths the uninstall planner needs to see: owned files and their backups. */
export function uninstallInputs(state: NodeState): string[] {
  return state.files.flatMap((f) => (f.backup === null ? [f.path] : [f.path, f.backup]));
}

/**
 * Undo what the state records, wiring first (flags, then config) so the kubelet never points
 * at something already gone. The rule is "take out exactly what we added, from the file as it is
 * now": others (config management, an admin) edit these files after us, and their edits stay.
 * - A file we modified is restored from its backup only while it still holds exactly what we
 *   last wrote (then the backup is the node's own content from just before: apply drops a
 *   backup as soon as it finds the file changed by someone else). Otherwise our flags or our
 *   provider entries are taken out of it in place.
 * - A file we created goes whole only while it still holds what we wrote. A flags file someone
 *   added settings to keeps them, minus our flags; a provider config of ours someone added
 *   their own provider to is refused (it only works through the flags we are removing).
 */
export function planUninstall(
  state: NodeState,
  layout: Layout | null,
  current: ReadonlyMap<string, CurrentFile | null>,
): Result<Plan> {
  const order = [...applyOrder].reverse();
  const files = [...state.files].sort((a, b) => order.indexOf(a.role) - order.indexOf(b.role));
  const writes: FileWrite[] = [];
  const removals: FileRemoval[] = [];
  const problems: Problem[] = [];
  const reasons: string[] = [];
  const variable = layout?.wiring.kind === "flags" ? layout.wiring.variable : "KUBELET_EXTRA_ARGS";
  /** The file as it is now, minus what we added; null when that cannot be done in place. */
  const withoutOurs = (f: OwnedFile, before: CurrentFile): Result<Uint8Array> | null => {
    const text = byteString(before.bytes);
    const edited =
      f.role === "kubelet-flags"
        ? editKubeletFlagsFile(text, variable, null, f.path)
        : f.role === "provider-config"
          ? removeProviders(text, state.providerNames, f.path)
          : null;
    if (edited === null) return null;
    return edited.ok ? { ok: true, value: bytesOf(edited.value) } : edited;
  };
  for (const f of files) {
    const before = current.get(f.path) ?? null;
    if (before === null) continue; // gone already: nothing of ours left in it
    // null: a write of ours was cut short; the file then holds our last bytes or the new ones.
    const unchanged = f.writtenSha256 === null || sha256Hex(before.bytes) === f.writtenSha256;
    if (f.origin === "created") {
      const edited = unchanged ? null : withoutOurs(f, before);
      if (edited === null) {
        removals.push({ path: f.path, role: f.role, before });
        if (wiringRoles.has(f.role)) reasons.push(`${f.role} ${f.path} removed`);
        continue;
      }
      if (!edited.ok) {
        problems.push(...edited.problems);
        continue;
      }
      if (f.role === "provider-config") {
        const others = providerNamesIn(byteString(edited.value));
        if (others.length > 0) {
          problems.push(
            problem(
              f.path,
              `nodecred created this file, but it now also holds ${others.map((n) => JSON.stringify(n)).join(", ")}, which the kubelet reads only through nodecred's flags; move them to a config of your own first`,
            ),
          );
          continue;
        }
        removals.push({ path: f.path, role: f.role, before });
        reasons.push(`${f.role} ${f.path} removed`);
        continue;
      }
      // A flags file we created that holds settings of someone else's now: keep them.
      addRestore(writes, reasons, f, before, { bytes: edited.value, mode: before.mode & 0o7777 });
      continue;
    }
    const backup = f.backup === null ? null : (current.get(f.backup) ?? null);
    if (unchanged && backup !== null) {
      addRestore(writes, reasons, f, before, {
        bytes: backup.bytes,
        mode: f.originalMode ?? backup.mode,
      });
      continue;
    }
    const edited = withoutOurs(f, before);
    if (edited === null) {
      problems.push(problem(f.path, "changed since nodecred wrote it and has no backup"));
      continue;
    }
    if (!edited.ok) {
      problems.push(...edited.problems);
      continue;
    }
    addRestore(writes, reasons, f, before, { bytes: edited.value, mode: before.mode & 0o7777 });
  }
  if (problems.length > 0) return { ok: false, problems };
  if (state.pendingRestart && reasons.length === 0) {
    reasons.push("an earlier run changed the kubelet's wiring and did not finish its restart");
  }
  return {
    ok: true,
    value: {
      mkdirs: [],
      writes,
      removals,
      removalsAfterRestart: false,
      rmdirs: [...state.dirs].reverse(),
      restart: reasons.length > 0 ? { unit: state.unit, reasons } : null,
    },
  };
}

function addRestore(
  writes: FileWrite[],
  reasons: string[],
  f: OwnedFile,
  before: CurrentFile,
  target: { readonly bytes: Uint8Array; readonly mode: number },
): void {
  if (sameBytes(target.bytes, before.bytes) && (before.mode & 0o7777) === target.mode) return;
  writes.push({ path: f.path, role: f.role, action: "restore", before, ...target });
  if (wiringRoles.has(f.role)) reasons.push(`${f.role} ${f.path} restored`);
}
