import { lstatSync, readlinkSync, type Stats } from "node:fs";
import { isAbsolute, join, normalize } from "node:path";
import { isCleanHostPath } from "../core/node/host-path.ts";
import { InstallerError } from "../errors.ts";

/**
 * The one door from a host path (`/etc/default/kubelet`) to a path this process can open:
 * everything lives under one --host-root (`/host` in the pod, a temp dir in tests).
 *
 * Two ways through it, and every host path takes one of them:
 * - `resolve`: for every file nodecred reads to decide something (flags file, provider config,
 *   state, lock, backups) and for every path it creates, rewrites or removes, in every command.
 *   No symbolic link is followed at any level below the host root: an existing component that is
 *   a link is refused (HOST_IO) before anything is read or written. A link's target is the host's
 *   business, and resolving it here would either leave the host (an absolute target is resolved
 *   against the container's root by the kernel) or write somewhere the state file does not name.
 * - `resolveFollowing`: only for facts about the host (os-release, unit files that say which
 *   flavour this is), where links are normal (`/etc/os-release -> ../usr/lib/os-release`, a
 *   merged `/lib -> usr/lib`). Links are followed as the host itself would follow them: an
 *   absolute target from the host root, `..` never above it, at most 40 links (ELOOP). Nothing
 *   is ever written through this route.
 *
 * The checks run component by component with lstat, just before the caller uses the path. A link
 * planted between the check and the use can only come from root on the host itself; the atomic
 * writer also lstats the final component (never following it) before each use.
 */
export interface HostPaths {
  readonly root: string;
  /** The path under the root; refuses a symbolic link at any existing level. */
  resolve(hostPath: string): string;
  /** The path under the root with links resolved inside it (reads of host facts only). */
  resolveFollowing(hostPath: string): string;
}

const maxLinks = 40; // Linux's MAXSYMLINKS

function checkClean(hostPath: string): void {
  // Host paths come from our own tables and the state file; anything else is refused.
  if (hostPath !== "/" && !isCleanHostPath(hostPath)) {
    throw new InstallerError("HOST_IO", `not a clean absolute host path: ${hostPath}`);
  }
}

function components(hostPath: string): string[] {
  return hostPath.split("/").filter((c) => c !== "");
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw new InstallerError("HOST_IO", `reading ${path} failed (${code ?? "error"})`, {
      cause: e,
    });
  }
}

export function hostPaths(root: string): HostPaths {
  const base = normalize(root);
  return Object.freeze({
    root: base,
    resolve(hostPath: string): string {
      checkClean(hostPath);
      let at = "";
      for (const c of components(hostPath)) {
        at = `${at}/${c}`;
        const st = lstatOrNull(join(base, at));
        if (st === null) break; // the rest does not exist yet: nothing there to follow
        if (st.isSymbolicLink()) {
          throw new InstallerError(
            "HOST_IO",
            `${at} is a symbolic link on the host; nodecred does not follow links for ${hostPath} (replace the link with the directory or file it points to, or remove it)`,
          );
        }
      }
      return join(base, hostPath);
    },
    resolveFollowing(hostPath: string): string {
      checkClean(hostPath);
      let pending = components(hostPath);
      let done: string[] = [];
      let links = 0;
      while (pending.length > 0) {
        const [c, ...rest] = pending;
        pending = rest;
        if (c === undefined || c === ".") continue;
        if (c === "..") {
          done = done.slice(0, -1); // never above the host root
          continue;
        }
        const here = join(base, ...done, c);
        const st = lstatOrNull(here);
        if (st === null || !st.isSymbolicLink()) {
          done = [...done, c];
          continue;
        }
        if (++links > maxLinks) {
          throw new InstallerError("HOST_IO", `too many symbolic links resolving ${hostPath}`);
        }
        const target = readlinkSync(here);
        if (isAbsolute(target)) done = [];
        pending = [...components(target), ...pending];
      }
      return join(base, ...done);
    },
  });
}
