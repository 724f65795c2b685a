import { lstat, readFile } from "node:fs/promises";
import { markerPaths, parseOsRelease, type HostFacts } from "../core/flavour.ts";
import type { HostPaths } from "./host-paths.ts";

/** Reads the facts flavour detection needs: os-release and which marker paths exist. */
export async function readHostFacts(paths: HostPaths): Promise<HostFacts> {
  let osRelease: Record<string, string> = {};
  for (const candidate of ["/etc/os-release", "/usr/lib/os-release"]) {
    try {
      osRelease = parseOsRelease(await readFile(paths.resolve(candidate), "utf8"));
      break;
    } catch {
      // absent: try the next one; no os-release at all is a valid (if unhelpful) fact
    }
  }
  const existing = new Set<string>();
  for (const p of markerPaths) {
    // lstat, not stat: unit symlinks point at absolute host paths outside --host-root.
    const found = await lstat(paths.resolve(p)).then(
      () => true,
      () => false,
    );
    if (found) existing.add(p);
  }
  return { osRelease, existing };
}
