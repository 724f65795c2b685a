import { createHash } from "node:crypto";
import { isFlavourName, type FlavourName } from "./flavour.ts";
import { isCleanHostPath } from "./host-path.ts";
import { isRecord } from "../strict-yaml.ts";

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

export type ParsedState =
  | { readonly ok: true; readonly value: NodeState }
  | { readonly ok: false; readonly reason: string };

function refused(reason: string): ParsedState {
  return { ok: false, reason };
}

const isHostPath = (x: unknown): x is string => typeof x === "string" && isCleanHostPath(x);
const isNullable =
  <T>(check: (x: unknown) => x is T) =>
  (x: unknown): x is T | null =>
    x === null || check(x);
const isString = (x: unknown): x is string => typeof x === "string";
const isMode = (x: unknown): x is number =>
  typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= 0o7777;

/** One entry of `files`, or why it is refused. */
function parseOwnedFile(f: unknown, at: string): OwnedFile | string {
  if (!isRecord(f)) return `${at} is not an object`;
  const { path, role, origin, backup, originalMode, writtenSha256 } = f;
  if (!isHostPath(path)) return `${at}.path is not a host path`;
  if (typeof role !== "string" || !roles.includes(role)) return `${at}.role unknown`;
  if (origin !== "created" && origin !== "modified") return `${at}.origin unknown`;
  if (!isNullable(isHostPath)(backup)) return `${at}.backup is not a host path`;
  if (!isNullable(isMode)(originalMode)) return `${at}.originalMode is not a mode`;
  if (!isNullable(isString)(writtenSha256)) return `${at}.writtenSha256 invalid`;
  return { path, role: role as FileRole, origin, backup, originalMode, writtenSha256 };
}

/** The `files` list, or why it is refused (the first bad entry). */
function parseOwnedFiles(list: unknown): OwnedFile[] | string {
  if (!Array.isArray(list)) return "no files list";
  const files: OwnedFile[] = [];
  for (const [i, f] of (list as unknown[]).entries()) {
    const file = parseOwnedFile(f, `files[${String(i)}]`);
    if (typeof file === "string") return file;
    files.push(file);
  }
  return files;
}

const strings = (x: unknown): string[] | null => (Array.isArray(x) && x.every(isString) ? x : null);

/** `failedApply` (absent: undefined), or null when it is not a record of a failed apply. */
function parseFailedApply(f: unknown): FailedApply | undefined | null {
  if (f === undefined) return undefined;
  if (
    !isRecord(f) ||
    typeof f["configHash"] !== "string" ||
    typeof f["providerSha256"] !== "string" ||
    typeof f["at"] !== "string" ||
    typeof f["reason"] !== "string"
  ) {
    return null;
  }
  return {
    configHash: f["configHash"],
    providerSha256: f["providerSha256"],
    at: f["at"],
    reason: f["reason"],
  };
}

/**
 * Parses the state file strictly: every field we rely on must be there with its type, every
 * path must be a clean host path. Anything else is refused with the reason (the caller stops;
 * it never treats an unreadable record as "nothing owned").
 */
export function parseState(bytes: Uint8Array): ParsedState {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return refused("not valid JSON");
  }
  if (!isRecord(v)) return refused("not a JSON object");
  if (v["version"] !== 1) return refused(`version ${JSON.stringify(v["version"])}, expected 1`);
  const flavour = v["flavour"];
  const unit = v["unit"];
  if (typeof flavour !== "string" || !isFlavourName(flavour)) return refused("unknown flavour");
  if (typeof unit !== "string" || unit === "") return refused("no unit");
  const files = parseOwnedFiles(v["files"]);
  if (typeof files === "string") return refused(files);
  const providerNames = strings(v["providerNames"] ?? []);
  if (providerNames === null) return refused("providerNames is not a list of names");
  const dirs = strings(v["dirs"] ?? []);
  if (dirs === null || !dirs.every(isHostPath)) return refused("dirs is not a list of host paths");
  const failedApply = parseFailedApply(v["failedApply"]);
  if (failedApply === null) return refused("failedApply is not a record of a failed apply");
  const state: NodeState = {
    version: 1,
    flavour,
    unit,
    pendingRestart: v["pendingRestart"] === true,
    providerNames,
    files,
    dirs,
  };
  return { ok: true, value: failedApply === undefined ? state : { ...state, failedApply } };
}

export function findOwned(state: NodeState | null, path: string): OwnedFile | undefined {
  return state?.files.find((f) => f.path === path);
}

export function withFile(state: NodeState, file: OwnedFile): NodeState {
  return { ...state, files: [...state.files.filter((f) => f.path !== file.path), file] };
}

/**
 * Where the backup of a host path is kept: one flat directory, path percent-encoded (readable
 * at a glance); a path whose encoding would pass the kernel's 255-byte name limit (a node's own
 * provider config can be anywhere) by its sha256 instead. The name is recorded in the state.
 */
export function backupPathFor(backupDir: string, path: string): string {
  const encoded = encodeURIComponent(path);
  const name =
    encoded.length <= 200 ? encoded : `sha256-${sha256Hex(new TextEncoder().encode(path))}`;
  return `${backupDir}/${name}`;
}
