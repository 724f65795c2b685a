import { createHash } from "node:crypto";
import { isFlavourName, type FlavourName } from "./flavour.ts";
import { isRecord } from "./strict-yaml.ts";

/**
 * What nodecred owns on a node, kept in /var/lib/nodecred/state.json so `uninstall` can
 * undo exactly what `apply` did. Entries are recorded *before* the change they describe
 * (write-ahead), so a kill between the two leaves a record of a change that may not have
 * happened, which uninstall tolerates, and never a change without a record.
 */

export type FileRole = "provider-binary" | "credentials" | "provider-config" | "kubelet-flags";

/** Order in which apply writes: each file only ever points at things that already exist. */
export const applyOrder: readonly FileRole[] = [
  "provider-binary",
  "credentials",
  "provider-config",
  "kubelet-flags",
];

/** Roles whose change requires a kubelet restart (the kubelet reads them only at start). */
export const wiringRoles: ReadonlySet<FileRole> = new Set(["provider-config", "kubelet-flags"]);

export interface OwnedFile {
  readonly path: string;
  readonly role: FileRole;
  /** `created`: did not exist before nodecred; `modified`: someone else's file, backed up. */
  readonly origin: "created" | "modified";
  readonly backup: string | null;
  readonly originalMode: number | null;
  /** sha256 of the bytes we last wrote; uninstall restores the backup only if unchanged since. */
  readonly writtenSha256: string | null;
}

export interface NodeState {
  readonly version: 1;
  readonly flavour: FlavourName;
  readonly unit: string;
  /** Set before a wiring file changes, cleared once the kubelet is healthy on it. */
  readonly pendingRestart: boolean;
  readonly providerNames: readonly string[];
  readonly files: readonly OwnedFile[];
  /** Directories nodecred created, parents first. */
  readonly dirs: readonly string[];
  /** The last config that made the kubelet fail and was rolled back; cleared by a good apply. */
  readonly failedApply?: FailedApply;
}

/**
 * Remembered so that a retried init container does not restart the kubelet twice more on
 * every retry with a config already seen to fail on this node. Holds hashes only.
 */
export interface FailedApply {
  readonly configHash: string;
  readonly providerSha256: string;
  /** ISO 8601 time of the rollback. */
  readonly at: string;
  readonly reason: string;
}

/** The record of a failure for these inputs, if there is one. */
export function failedBefore(
  state: NodeState | null,
  configHash: string,
  providerSha256: string,
): FailedApply | undefined {
  const f = state?.failedApply;
  return f !== undefined && f.configHash === configHash && f.providerSha256 === providerSha256
    ? f
    : undefined;
}

export function withoutFailure(state: NodeState): NodeState {
  if (state.failedApply === undefined) return state;
  const { failedApply: _cleared, ...rest } = state;
  return rest;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function emptyState(flavour: FlavourName, unit: string): NodeState {
  return {
    version: 1,
    flavour,
    unit,
    pendingRestart: false,
    providerNames: [],
    files: [],
    dirs: [],
  };
}

export function serializeState(state: NodeState): Uint8Array {
  const files = [...state.files].sort((a, b) => a.path.localeCompare(b.path));
  const plain = { ...state, files, providerNames: [...state.providerNames].sort() };
  return new TextEncoder().encode(`${JSON.stringify(plain, null, 2)}\n`);
}

const roles: readonly string[] = applyOrder;

/** Parses the state file; null if it is not one we wrote (treated as "nothing owned"). */
export function parseState(text: string): NodeState | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(v) || v["version"] !== 1) return null;
  const flavour = v["flavour"];
  const unit = v["unit"];
  if (typeof flavour !== "string" || !isFlavourName(flavour) || typeof unit !== "string")
    return null;
  const files: OwnedFile[] = [];
  for (const f of Array.isArray(v["files"]) ? (v["files"] as unknown[]) : []) {
    if (!isRecord(f) || typeof f["path"] !== "string" || typeof f["role"] !== "string") return null;
    if (!roles.includes(f["role"])) return null;
    files.push({
      path: f["path"],
      role: f["role"] as FileRole,
      origin: f["origin"] === "modified" ? "modified" : "created",
      backup: typeof f["backup"] === "string" ? f["backup"] : null,
      originalMode: typeof f["originalMode"] === "number" ? f["originalMode"] : null,
      writtenSha256: typeof f["writtenSha256"] === "string" ? f["writtenSha256"] : null,
    });
  }
  const strings = (x: unknown): string[] =>
    Array.isArray(x) ? x.filter((s): s is string => typeof s === "string") : [];
  const state: NodeState = {
    version: 1,
    flavour,
    unit,
    pendingRestart: v["pendingRestart"] === true,
    providerNames: strings(v["providerNames"]),
    files,
    dirs: strings(v["dirs"]),
  };
  const f = v["failedApply"];
  if (
    isRecord(f) &&
    typeof f["configHash"] === "string" &&
    typeof f["providerSha256"] === "string" &&
    typeof f["at"] === "string" &&
    typeof f["reason"] === "string"
  ) {
    const failedApply: FailedApply = {
      configHash: f["configHash"],
      providerSha256: f["providerSha256"],
      at: f["at"],
      reason: f["reason"],
    };
    return { ...state, failedApply };
  }
  return state;
}

export function findOwned(state: NodeState | null, path: string): OwnedFile | undefined {
  return state?.files.find((f) => f.path === path);
}

export function withFile(state: NodeState, file: OwnedFile): NodeState {
  return { ...state, files: [...state.files.filter((f) => f.path !== file.path), file] };
}

/** Where the backup of a host path is kept: one flat directory, path percent-encoded. */
export function backupPathFor(backupDir: string, path: string): string {
  return `${backupDir}/${encodeURIComponent(path)}`;
}
