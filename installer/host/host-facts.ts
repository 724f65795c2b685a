import { lstat } from "node:fs/promises";
import { join } from "node:path";
import { markerPaths, parseOsRelease, type HostFacts } from "../core/node/flavour.ts";
import { readCurrentFile } from "./atomic-write.ts";
import type { HostPaths } from "./host-paths.ts";

/** Reads the facts flavour detection needs: os-release and which marker paths exist. */
export async function readHostFacts(paths: HostPaths): Promise<HostFacts> {
  let osRelease: Record<string, string> = {};
  for (const candidate of ["/etc/os-release", "/usr/lib/os-release"]) {
    try {
      // os-release is a link on most hosts (/etc/os-release -> ../usr/lib/os-release).
      const file = await readCurrentFile(paths.resolveFollowing(candidate));
      if (file === null) continue; // absent: try the next one
      osRelease = parseOsRelease(new TextDecoder().decode(file.bytes));
      break;
    } catch {
      // not a regular file, too big, unreadable: no os-release is a valid (if unhelpful) fact
    }
  }
  const existing = new Set<string>();
  for (const p of markerPaths) {
    // The directories are followed inside the host (a merged /lib -> usr/lib); the marker
    // itself is not: an enabled unit is a link, and its existence is the fact.
    const slash = p.lastIndexOf("/");
    const dir = slash === 0 ? paths.root : paths.resolveFollowing(p.slice(0, slash));
    const found = await lstat(join(dir, p.slice(slash + 1))).then(
      () => true,
      () => false,
    );
    if (found) existing.add(p);
  }
  return { osRelease, existing };
}
