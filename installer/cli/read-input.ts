import { constants, type Stats } from "node:fs";
import { lstat, open, readdir, realpath, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { InstallerError } from "../errors.ts";

/**
 * Bounded reads of the installer's inputs (a manifest file, the files of a mounted ConfigMap or
 * Secret volume): only regular files, never more than a limit, so a FIFO, a device (/dev/zero),
 * a directory or a huge file is refused at once with a message instead of hanging the init
 * container or filling its memory. Each file is checked with stat before it is opened (a device
 * is never opened), opened with O_NONBLOCK (a FIFO swapped in meanwhile does not block the
 * open) and checked again on the open descriptor; reading stops one byte past the limit, so a
 * file that grows is refused too.
 */

/**
 * What one limit allows, for the message: the API server's, or one derived from it. A ConfigMap
 * or Secret holds at most 1 MiB of data (ValidateConfigMap, ValidateSecret: core.MaxSecretSize).
 */
export interface ReadLimit {
  readonly bytes: number;
  readonly why: string;
}

/** A file (or a volume's files together) over the limit: refused before reading it all. */
export class InputTooLarge extends InstallerError {
  readonly path: string;
  /** The file's size; for a file that grew while read, how much was read (the limit + 1). */
  readonly size: number;

  constructor(what: string, path: string, size: number, limit: ReadLimit, earlier = 0) {
    super(
      "INVALID_INPUT",
      `${what} ${path} is ${String(size)} bytes${earlier > 0 ? `, after ${String(earlier)} bytes in the volume's other files` : ""}; at most ${String(limit.bytes)} bytes are accepted: ${limit.why}`,
    );
    this.name = "InputTooLarge";
    this.path = path;
    this.size = size;
  }
}

function kindOf(s: Stats): string {
  if (s.isFile()) return "regular file";
  if (s.isDirectory()) return "directory";
  if (s.isFIFO()) return "FIFO";
  if (s.isSocket()) return "socket";
  if (s.isCharacterDevice()) return "character device";
  if (s.isBlockDevice()) return "block device";
  if (s.isSymbolicLink()) return "symbolic link";
  return "special file";
}

const notRegular = (what: string, path: string, s: Stats): InstallerError =>
  new InstallerError("INVALID_INPUT", `${what} ${path} is a ${kindOf(s)}, not a regular file`);

const cannotRead = (what: string, path: string, cause: unknown): InstallerError =>
  cause instanceof InstallerError
    ? cause
    : new InstallerError("INVALID_INPUT", `cannot read ${what} ${path}`, { cause });

const chunkBytes = 64 * 1024;

/**
 * A regular file's bytes, at most `limit.bytes - earlier` of them. `shown` is the path for
 * messages; `noFollow`: `path` must not be a symlink (it was resolved already).
 */
async function readRegular(
  path: string,
  what: string,
  limit: ReadLimit,
  options: { shown?: string; noFollow?: boolean; earlier?: number } = {},
): Promise<Uint8Array> {
  const shown = options.shown ?? path;
  const earlier = options.earlier ?? 0;
  const room = limit.bytes - earlier;
  const check = (s: Stats): void => {
    if (!s.isFile()) throw notRegular(what, shown, s);
    if (s.size > room) throw new InputTooLarge(what, shown, s.size, limit, earlier);
  };
  let handle;
  try {
    check(await (options.noFollow === true ? lstat(path) : stat(path)));
    const flags =
      constants.O_RDONLY |
      constants.O_NONBLOCK |
      constants.O_NOCTTY |
      (options.noFollow === true ? constants.O_NOFOLLOW : 0);
    handle = await open(path, flags);
  } catch (e) {
    throw cannotRead(what, shown, e);
  }
  try {
    check(await handle.stat());
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const chunk = new Uint8Array(Math.min(chunkBytes, room + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > room) throw new InputTooLarge(what, shown, total, limit, earlier);
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  } catch (e) {
    throw cannotRead(what, shown, e);
  } finally {
    await handle.close();
  }
}

/** A file named on the command line (a manifest): a regular file of at most `limit.bytes`. */
export async function readInputFile(
  path: string,
  what: string,
  limit: ReadLimit,
): Promise<Uint8Array> {
  return readRegular(path, what, limit);
}

/**
 * A ConfigMap or Secret volume as the kubelet mounts it: one file per key, at most `limit.bytes`
 * together. Entries starting with ".." are the kubelet's atomic-update machinery, not keys; each
 * key is a symlink `key -> ..data/key` (and `..data` one to a timestamped directory), followed,
 * but only as long as it stays inside the volume. `keys`: read only these (the others are not
 * looked at). Keys that are not there are left out of the result.
 */
export async function readVolume(
  dir: string,
  what: string,
  limit: ReadLimit,
  keys?: readonly string[],
): Promise<Map<string, Uint8Array>> {
  let names: string[];
  let root: string;
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) {
      throw new InstallerError(
        "INVALID_INPUT",
        `${what} volume ${dir} is a ${kindOf(s)}, not a directory`,
      );
    }
    root = await realpath(dir);
    names = (await readdir(dir)).filter((n) => !n.startsWith("..")).sort();
  } catch (e) {
    throw cannotRead(`${what} volume`, dir, e);
  }
  const out = new Map<string, Uint8Array>();
  let total = 0;
  for (const name of keys === undefined ? names : names.filter((n) => keys.includes(n))) {
    const entry = join(dir, name);
    let real: string;
    try {
      real = await realpath(entry);
    } catch (e) {
      throw cannotRead(what, entry, e);
    }
    const inside = relative(root, real);
    if (
      inside === "" ||
      inside === ".." ||
      inside.startsWith(`..${sep}`) ||
      inside.startsWith(sep)
    ) {
      throw new InstallerError(
        "INVALID_INPUT",
        `${what} ${entry} leads outside its volume (to ${real}); a volume's keys are files inside it`,
      );
    }
    const bytes = await readRegular(real, what, limit, {
      shown: entry,
      noFollow: true,
      earlier: total,
    });
    total += bytes.length;
    out.set(name, bytes);
  }
  return out;
}
