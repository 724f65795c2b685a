import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import {
  chmod,
  lchown,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  rename,
  rmdir,
  unlink,
} from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { sameBytes } from "../core/node/byte-string.ts";
import type { CurrentFile } from "../core/plan/desired-state.ts";
import { InstallerError } from "../errors.ts";

/**
 * The one module that changes host files. Every write is compare-first (nothing happens when
 * bytes and mode already match) and atomic: a temp file in the same directory is written,
 * fsynced and chmodded, then renamed over the target, and the directory is fsynced so the
 * rename itself survives a power cut. A kill at any point leaves the old file or the new one,
 * never a mix; at worst a stray temp file, which the next run removes.
 */

const tempMarker = ".nodecred-tmp-";

function ioError(action: string, path: string, cause: unknown): InstallerError {
  const code = (cause as NodeJS.ErrnoException).code ?? "";
  return new InstallerError(
    "HOST_IO",
    `${action} ${path} failed${code === "" ? "" : ` (${code})`}`,
    {
      cause,
    },
  );
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/**
 * The largest host file nodecred reads (the provider binary, ~2 MB, is the largest one we own;
 * kubelet flags files and provider configs are a few kB).
 */
export const maxHostFileBytes = 64 * 1024 * 1024;

/**
 * Current bytes and mode of a regular file, or null when there is none. The last component is
 * never followed (O_NOFOLLOW) and nothing but a regular file is read: a FIFO or a device is an
 * error at once (O_NONBLOCK keeps the open itself from waiting for a FIFO's writer), and so is a
 * file over maxHostFileBytes, without reading it.
 */
export async function readCurrentFile(path: string): Promise<CurrentFile | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if (isMissing(e)) return null;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ELOOP") {
      throw new InstallerError("HOST_IO", `${path} is a symbolic link, not a regular file`);
    }
    throw ioError("reading", path, e);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile())
      throw new InstallerError("HOST_IO", `${path} exists but is not a regular file`);
    if (st.size > maxHostFileBytes) {
      throw new InstallerError(
        "HOST_IO",
        `${path} is ${String(st.size)} bytes, more than the ${String(maxHostFileBytes)} nodecred reads`,
      );
    }
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length) {
        throw new InstallerError("HOST_IO", `${path} grew while it was read; try again`);
      }
    }
    return { bytes: new Uint8Array(buf.subarray(0, n)), mode: st.mode & 0o7777 };
  } catch (e) {
    if (e instanceof InstallerError) throw e;
    throw ioError("reading", path, e);
  } finally {
    await handle.close();
  }
}

export async function readCurrentDir(path: string): Promise<{ mode: number } | null> {
  try {
    const st = await lstat(path);
    if (!st.isDirectory())
      throw new InstallerError("HOST_IO", `${path} exists but is not a directory`);
    return { mode: st.mode & 0o7777 };
  } catch (e) {
    if (isMissing(e)) return null;
    if (e instanceof InstallerError) throw e;
    throw ioError("reading", path, e);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes temp files a killed run left next to `path` (only ours, by their marker). */
export async function removeStaleTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if (isMissing(e)) return;
    throw ioError("listing", dir, e);
  }
  const stale = names.filter((n) => n.startsWith(".") && n.includes(tempMarker));
  for (const n of stale) await unlink(join(dir, n)).catch(() => undefined);
  if (stale.length > 0) await fsyncDir(dir);
}

/** A temp name next to `path` that removeStaleTemps recognises. */
function tempPathFor(path: string): string {
  return join(
    dirname(path),
    `.${basename(path)}${tempMarker}${process.pid}-${randomBytes(4).toString("hex")}`,
  );
}

/** Writes a new temp file completely and durably; the caller moves it into place. */
async function writeTemp(temp: string, bytes: Uint8Array, mode: number): Promise<void> {
  const handle = await open(temp, "wx", 0o600);
  try {
    await handle.writeFile(bytes);
    // chmod after write: the umask may have narrowed the create mode.
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Returns true when the file was written (or chmodded), false when it already matched. */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array,
  mode: number,
): Promise<boolean> {
  const current = await readCurrentFile(path);
  if (current !== null && sameBytes(current.bytes, bytes)) {
    if (current.mode === mode) return false;
    try {
      // Same content, only the mode differs: chmod is atomic by itself.
      await chmod(path, mode);
      await fsyncDir(dirname(path));
      return true;
    } catch (e) {
      throw ioError("chmod", path, e);
    }
  }
  const dir = dirname(path);
  const temp = tempPathFor(path);
  try {
    await writeTemp(temp, bytes, mode);
    await rename(temp, path);
    await fsyncDir(dir);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw ioError("writing", path, e);
  }
  return true;
}

/**
 * Creates `path` with these bytes only if it does not exist (false if it does, or if its
 * directory vanished meanwhile): written to a temp file, fsynced, then hard-linked into place,
 * so whoever sees the file sees all of it.
 */
export async function createFileExclusive(
  path: string,
  bytes: Uint8Array,
  mode: number,
): Promise<boolean> {
  const dir = dirname(path);
  const temp = tempPathFor(path);
  try {
    await writeTemp(temp, bytes, mode);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    // The directory went away under us (its last user removed it): the caller retries.
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw ioError("creating", path, e);
  }
  try {
    await link(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    // EEXIST: it is there. ENOENT: the holder swept our temp file as stale; the caller retries.
    if (code === "EEXIST" || code === "ENOENT") return false;
    throw ioError("creating", path, e);
  }
  await unlink(temp).catch(() => undefined);
  await fsyncDir(dir);
  return true;
}

export async function removeFile(path: string): Promise<boolean> {
  try {
    await unlink(path);
  } catch (e) {
    if (isMissing(e)) return false;
    throw ioError("removing", path, e);
  }
  await fsyncDir(dirname(path));
  return true;
}

/** Creates one directory level (parents come first in a plan) or fixes the mode of ours. */
export async function ensureDir(path: string, mode: number): Promise<void> {
  try {
    await mkdir(path, { mode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw ioError("creating", path, e);
  }
  try {
    await chmod(path, mode);
    await fsyncDir(dirname(path));
  } catch (e) {
    throw ioError("chmod", path, e);
  }
}

/**
 * For a directory someone else creates (the sync container's hostPath mount, which the kubelet
 * makes 0755 when it has to): it must exist; its mode is corrected in place. Unlike ensureDir it
 * never touches the parent, which may not be writable (or even be there) in that container.
 */
export async function requireDirMode(path: string, mode: number): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if (isMissing(e)) {
      throw new InstallerError(
        "HOST_IO",
        `${path} does not exist (is the host directory mounted?)`,
      );
    }
    throw ioError("reading", path, e);
  }
  if (!st.isDirectory()) throw new InstallerError("HOST_IO", `${path} is not a directory`);
  if ((st.mode & 0o7777) === mode) return;
  try {
    await chmod(path, mode);
    await fsyncDir(path);
  } catch (e) {
    throw ioError("chmod", path, e);
  }
}

/** Gives a file or directory this owner unless it already has it (lchown: links are not followed). */
export async function ensureOwner(path: string, uid: number, gid: number): Promise<boolean> {
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    throw ioError("reading", path, e);
  }
  if (st.uid === uid && st.gid === gid) return false;
  try {
    await lchown(path, uid, gid);
  } catch (e) {
    throw ioError("chown", path, e);
  }
  return true;
}

/** Removes a directory only if it is empty; anything someone else put there stays. */
export async function removeDirIfEmpty(path: string): Promise<boolean> {
  try {
    await rmdir(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (isMissing(e) || code === "ENOTEMPTY" || code === "EEXIST") return false;
    throw ioError("removing", path, e);
  }
  // The parent may itself have gone meanwhile (another installer removing what it made):
  // then there is no entry left to make durable.
  await fsyncDir(dirname(path)).catch((e: unknown) => {
    if (!isMissing(e)) throw ioError("syncing", dirname(path), e);
  });
  return true;
}
