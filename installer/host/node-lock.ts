import { readFile, readlink } from "node:fs/promises";
import { sameBytes } from "../core/node/byte-string.ts";
import { nodecredPaths } from "../core/node/flavour.ts";
import { InstallerError } from "../errors.ts";
import type { Logger } from "../log.ts";
import {
  createFileExclusive,
  ensureDir,
  readCurrentDir,
  readCurrentFile,
  removeDirIfEmpty,
  removeFile,
} from "./atomic-write.ts";
import type { HostPaths } from "./host-paths.ts";

/**
 * One apply or uninstall at a time on a node. Node has no flock(2), so the lock is a file
 * created exclusively (hard link of a complete temp file) in nodecred's state directory,
 * holding who took it. A holder that is gone (killed, node rebooted, PID reused) is detected
 * and its lock removed; a live holder is waited for, up to a timeout.
 */

export const defaultLockTimeoutMs = 15 * 60_000;

export interface LockOptions {
  readonly timeoutMs: number;
  readonly pollMs?: number;
  /** "apply" or "uninstall": shown to whoever waits. */
  readonly command: string;
  readonly log: Logger;
}

export interface NodeLock {
  /** Directories created to hold the lock file (parents first): the caller records them as ours. */
  readonly createdDirs: readonly string[];
  /** Removes the lock file if it is still ours; idempotent. */
  release(): Promise<void>;
}

interface Holder {
  readonly pid: number;
  /** /proc/self/ns/pid: a PID means something only inside its own PID namespace. */
  readonly pidNamespace: string;
  readonly bootId: string;
  /** Field 22 of /proc/PID/stat (start time in clock ticks since boot): tells a reused PID. */
  readonly startTime: string;
  readonly command: string;
  readonly since: string;
  /**
   * Directories made to hold the lock and not yet recorded in the state file: whoever takes
   * over a stale lock inherits them, so a holder killed before recording them leaks nothing.
   */
  readonly createdDirs: readonly string[];
}

async function readText(path: string): Promise<string> {
  return readFile(path, "utf8").then(
    (t) => t.trim(),
    () => "",
  );
}

async function startTimeOf(pid: number | "self"): Promise<string> {
  const stat = await readText(`/proc/${String(pid)}/stat`);
  // The command name (field 2) may hold spaces and parentheses: count from the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19] ?? "";
}

async function me(command: string, createdDirs: readonly string[]): Promise<Holder> {
  return {
    createdDirs,
    pid: process.pid,
    pidNamespace: await readlink("/proc/self/ns/pid").catch(() => ""),
    bootId: await readText("/proc/sys/kernel/random/boot_id"),
    startTime: await startTimeOf("self"),
    command,
    since: new Date().toISOString(),
  };
}

function parseHolder(bytes: Uint8Array): Holder | null {
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as Partial<Holder>;
    if (typeof v.pid !== "number" || !Number.isInteger(v.pid) || v.pid <= 0) return null;
    return {
      pid: v.pid,
      pidNamespace: typeof v.pidNamespace === "string" ? v.pidNamespace : "",
      bootId: typeof v.bootId === "string" ? v.bootId : "",
      startTime: typeof v.startTime === "string" ? v.startTime : "",
      command: typeof v.command === "string" ? v.command : "?",
      since: typeof v.since === "string" ? v.since : "?",
      createdDirs: Array.isArray(v.createdDirs)
        ? v.createdDirs.filter(
            (d): d is string => typeof d === "string" && nodecredPaths.stateDir.startsWith(d),
          )
        : [],
    };
  } catch {
    return null;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Why this holder's lock can be taken away, or null while it may still be running. */
async function staleReason(holder: Holder | null, self: Holder): Promise<string | null> {
  if (holder === null) return "the lock file is not one nodecred wrote";
  if (holder.bootId !== "" && self.bootId !== "" && holder.bootId !== self.bootId)
    return "taken before the node rebooted";
  // Another PID namespace (an installer without hostPID): its PID cannot be checked from here.
  if (holder.pidNamespace !== self.pidNamespace) return null;
  if (!processExists(holder.pid)) return `process ${String(holder.pid)} is gone`;
  const start = await startTimeOf(holder.pid);
  if (holder.startTime !== "" && start !== "" && start !== holder.startTime)
    return `process ${String(holder.pid)} is another process now`;
  return null;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Removes the lock file if it still holds `staleBytes`. Two waiters may both find the same
 * stale lock; the `.break` file makes sure only one removes it, and never a fresh lock that
 * the other has meanwhile created.
 */
async function breakStaleLock(
  paths: HostPaths,
  staleBytes: Uint8Array,
  self: Holder,
  selfBytes: Uint8Array,
): Promise<void> {
  const lockPath = paths.resolve(nodecredPaths.lockFile);
  const breakPath = paths.resolve(`${nodecredPaths.lockFile}.break`);
  if (!(await createFileExclusive(breakPath, selfBytes, 0o600))) {
    // A breaker killed half-way leaves its .break file behind: the same rules apply to it.
    await removeDeadBreaker(paths, self);
    return;
  }
  try {
    const current = await readCurrentFile(lockPath);
    if (current !== null && sameBytes(current.bytes, staleBytes)) await removeFile(lockPath);
  } finally {
    await removeFile(breakPath);
  }
}

/**
 * A breaker killed after removing the stale lock but before removing its `.break` file leaves
 * that file behind, and no later stale lock may ever come to clean it: whoever takes the lock
 * removes a `.break` file whose holder is gone (same rule as for the lock itself).
 */
async function removeDeadBreaker(paths: HostPaths, self: Holder): Promise<void> {
  const breakPath = paths.resolve(`${nodecredPaths.lockFile}.break`);
  const other = await readCurrentFile(breakPath);
  if (other === null || (await staleReason(parseHolder(other.bytes), self)) === null) return;
  const again = await readCurrentFile(breakPath);
  if (again !== null && sameBytes(again.bytes, other.bytes)) await removeFile(breakPath);
}

function causeCode(e: unknown): string | undefined {
  const cause = e instanceof Error ? e.cause : undefined;
  return (cause as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Creates what is missing of /var/lib/nodecred (ours: 0700), returning what it created.
 * A holder releasing at this moment removes the directories it made, so a parent seen a moment
 * ago may be gone when its child is made (ENOENT): then start again from the top (bounded, so a
 * host root that is not there still fails at once).
 */
async function ensureLockDir(paths: HostPaths): Promise<string[]> {
  const created: string[] = [];
  const parts = nodecredPaths.stateDir.split("/").filter((p) => p !== "");
  for (let attempt = 1; ; attempt++) {
    try {
      for (let i = 1; i <= parts.length; i++) {
        const d = `/${parts.slice(0, i).join("/")}`;
        if ((await readCurrentDir(paths.resolve(d))) !== null) continue;
        await ensureDir(paths.resolve(d), d === nodecredPaths.stateDir ? 0o700 : 0o755);
        if (!created.includes(d)) created.push(d);
      }
      return created;
    } catch (e) {
      if (causeCode(e) !== "ENOENT" || attempt >= 1000) throw e;
    }
  }
}

export async function acquireNodeLock(paths: HostPaths, options: LockOptions): Promise<NodeLock> {
  const { log } = options;
  let createdDirs: string[] = [];
  const lockPath = paths.resolve(nodecredPaths.lockFile);
  let self = await me(options.command, createdDirs);
  let selfBytes = new TextEncoder().encode(`${JSON.stringify(self)}\n`);
  const addCreated = (dirs: readonly string[]): void => {
    if (dirs.every((d) => createdDirs.includes(d))) return;
    // All are ancestors of the state dir: by length is parents first.
    createdDirs = [...new Set([...createdDirs, ...dirs])].sort((a, b) => a.length - b.length);
    self = { ...self, createdDirs };
    selfBytes = new TextEncoder().encode(`${JSON.stringify(self)}\n`);
  };
  const deadline = performance.now() + options.timeoutMs;
  let waitLogged = false;
  for (;;) {
    // Every round: a holder that made these directories removes them again on release.
    addCreated(await ensureLockDir(paths));
    if (await createFileExclusive(lockPath, selfBytes, 0o600)) break;
    const current = await readCurrentFile(lockPath);
    if (current === null) continue; // released in between
    const holder = parseHolder(current.bytes);
    const stale = await staleReason(holder, self);
    if (stale !== null) {
      log.warn("removing a stale installer lock", {
        action: "lock",
        path: nodecredPaths.lockFile,
        reason: stale,
      });
      await breakStaleLock(paths, current.bytes, self, selfBytes);
      if (holder !== null) addCreated(holder.createdDirs);
      await sleep(10); // another waiter may be breaking it: no busy loop
      continue;
    }
    const who =
      holder === null
        ? "another installer"
        : `another nodecred-installer ${holder.command} (pid ${String(holder.pid)}, since ${holder.since})`;
    if (performance.now() >= deadline) {
      for (const d of [...createdDirs].reverse()) await removeDirIfEmpty(paths.resolve(d));
      throw new InstallerError(
        "LOCKED",
        `${who} holds ${nodecredPaths.lockFile}; gave up waiting after ${String(Math.round(options.timeoutMs / 1000))} s. ` +
          "If no installer is running on this node, remove that file and run again",
      );
    }
    if (!waitLogged) {
      log.info("waiting for another installer to finish", {
        action: "lock",
        path: nodecredPaths.lockFile,
        reason: who,
      });
      waitLogged = true;
    }
    await sleep(options.pollMs ?? 200);
  }
  log.info("installer lock taken", { action: "lock", path: nodecredPaths.lockFile });
  await removeDeadBreaker(paths, self);
  let released = false;
  return {
    createdDirs,
    async release(): Promise<void> {
      if (released) return;
      released = true;
      const current = await readCurrentFile(lockPath);
      if (current !== null && sameBytes(current.bytes, selfBytes)) await removeFile(lockPath);
      // Directories made only for the lock go again unless the run put something in them.
      for (const d of [...createdDirs].reverse()) await removeDirIfEmpty(paths.resolve(d));
    },
  };
}

/** Runs `fn` holding the node lock; released however `fn` ends. */
export async function withNodeLock<T>(
  paths: HostPaths,
  options: LockOptions,
  fn: (lock: NodeLock) => Promise<T>,
): Promise<T> {
  const lock = await acquireNodeLock(paths, options);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}
