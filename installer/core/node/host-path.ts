/**
 * A clean absolute host path: `/`-rooted, no empty, `.` or `..` component (so no `//`, no
 * trailing `/`), no NUL. The one rule for every host path nodecred takes from outside its own
 * tables: the state file, the kubelet's flags, and host/host-paths.ts before it opens anything.
 * The root itself (`/`) is not one: nothing nodecred names is the root.
 */
export function isCleanHostPath(p: string): boolean {
  return (
    p.startsWith("/") &&
    !p.includes("\0") &&
    p
      .slice(1)
      .split("/")
      .every((c) => c !== "" && c !== "." && c !== "..")
  );
}
