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

/** The directories that hold a clean host path, outermost first (`/a/b/c` → `/a`, `/a/b`). */
export function hostPathParents(path: string): string[] {
  const out: string[] = [];
  for (let i = path.indexOf("/", 1); i !== -1; i = path.indexOf("/", i + 1)) {
    out.push(path.slice(0, i));
  }
  return out;
}
