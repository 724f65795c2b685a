import type { CurrentFile, DesiredDir, DesiredState } from "./desired-state.ts";
import type { Layout } from "../node/flavour.ts";
import { editKubeletFlagsFile } from "../node/kubelet-flags.ts";
import { bytesOf, byteString, sameBytes } from "../node/byte-string.ts";
import { editProviders, readForeignConfig } from "../kubelet/merge-config.ts";
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
  for (const f of files) {
    const before = current.get(f.path) ?? null;
    if (before === null) continue; // gone already: nothing of ours left in it
    const backup = f.backup === null ? null : (current.get(f.backup) ?? null);
    const undo = undoOf(f, before, backup, { variable, ours: state.providerNames });
    switch (undo.kind) {
      case "problems":
        problems.push(...undo.problems);
        break;
      case "remove":
        removals.push({ path: f.path, role: f.role, before });
        if (wiringRoles.has(f.role)) reasons.push(`${f.role} ${f.path} removed`);
        break;
      case "restore":
        if (sameBytes(undo.bytes, before.bytes) && (before.mode & 0o7777) === undo.mode) break;
        writes.push({ path: f.path, role: f.role, action: "restore", before, ...undo });
        if (wiringRoles.has(f.role)) reasons.push(`${f.role} ${f.path} restored`);
        break;
    }
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

/** What uninstall does to one file nodecred owns (planUninstall's rules, in its header). */
type Undo =
  | { readonly kind: "remove" }
  | { readonly kind: "restore"; readonly bytes: Uint8Array; readonly mode: number }
  | { readonly kind: "problems"; readonly problems: readonly Problem[] };

function undoOf(
  f: OwnedFile,
  before: CurrentFile,
  backup: CurrentFile | null,
  ctx: { readonly variable: string; readonly ours: readonly string[] },
): Undo {
  // null: a write of ours was cut short; the file then holds our last bytes or the new ones.
  const unchanged = f.writtenSha256 === null || sha256Hex(before.bytes) === f.writtenSha256;
  const inPlace = (edited: Result<Uint8Array> | null): Undo => {
    if (edited === null) {
      return {
        kind: "problems",
        problems: [problem(f.path, "changed since nodecred wrote it and has no backup")],
      };
    }
    if (!edited.ok) return { kind: "problems", problems: edited.problems };
    return { kind: "restore", bytes: edited.value, mode: before.mode & 0o7777 };
  };
  if (f.origin === "modified") {
    if (unchanged && backup !== null) {
      return { kind: "restore", bytes: backup.bytes, mode: f.originalMode ?? backup.mode };
    }
    return inPlace(withoutOurs(f, before, ctx));
  }
  if (unchanged || (f.role !== "kubelet-flags" && f.role !== "provider-config")) {
    return { kind: "remove" };
  }
  if (f.role === "kubelet-flags") {
    // A flags file we created that holds settings of someone else's now: keep them.
    return inPlace(withoutOurs(f, before, ctx));
  }
  const theirs = readForeignConfig(before.bytes, f.path);
  if (!theirs.ok) return { kind: "problems", problems: theirs.problems };
  const others = theirs.value.names.filter((n) => !ctx.ours.includes(n));
  if (others.length === 0) return { kind: "remove" };
  return {
    kind: "problems",
    problems: [
      problem(
        f.path,
        `nodecred created this file, but it now also holds ${others.map((n) => JSON.stringify(n)).join(", ")}, which the kubelet reads only through nodecred's flags; move them to a config of your own first`,
      ),
    ],
  };
}

/** The file as it is now, minus what we added; null when that cannot be done in place. */
function withoutOurs(
  f: OwnedFile,
  before: CurrentFile,
  ctx: { readonly variable: string; readonly ours: readonly string[] },
): Result<Uint8Array> | null {
  if (f.role === "kubelet-flags") {
    const edited = editKubeletFlagsFile(byteString(before.bytes), ctx.variable, null, f.path);
    return edited.ok ? { ok: true, value: bytesOf(edited.value) } : edited;
  }
  if (f.role === "provider-config") {
    const theirs = readForeignConfig(before.bytes, f.path);
    if (!theirs.ok) return theirs;
    return { ok: true, value: editProviders(theirs.value, { remove: ctx.ours, put: [] }) };
  }
  return null;
}
