/**
 * Test helpers for host trees: snapshot a directory (paths, types, modes, bytes), compare two
 * snapshots, and read/write the `*.modes` manifests golden cases keep next to their trees
 * (git keeps only the executable bit, and no empty directories, so modes and directories are
 * recorded in the manifest and the tree holds the file contents).
 */
import { chmod, lstat, mkdir, readdir, readFile, readlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

export interface Entry {
  readonly type: "d" | "f" | "l";
  readonly mode: number;
  readonly bytes: Buffer | null;
  readonly ino: number;
  readonly mtimeMs: number;
}

export type Snapshot = Map<string, Entry>;

/** Every entry under root, keyed by host path (`/etc/default/kubelet`). */
export async function snapshot(
  root: string,
  skip: (p: string) => boolean = () => false,
): Promise<Snapshot> {
  const out: Snapshot = new Map();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const p = `${rel}/${name}`;
      if (skip(p)) continue;
      const st = await lstat(join(root, p));
      if (st.isDirectory()) {
        out.set(p, {
          type: "d",
          mode: st.mode & 0o7777,
          bytes: null,
          ino: st.ino,
          mtimeMs: st.mtimeMs,
        });
        await walk(p);
      } else if (st.isSymbolicLink()) {
        // A link is recorded by its target, never followed.
        out.set(p, {
          type: "l",
          mode: st.mode & 0o7777,
          bytes: Buffer.from(await readlink(join(root, p))),
          ino: st.ino,
          mtimeMs: st.mtimeMs,
        });
      } else {
        out.set(p, {
          type: "f",
          mode: st.mode & 0o7777,
          bytes: await readFile(join(root, p)),
          ino: st.ino,
          mtimeMs: st.mtimeMs,
        });
      }
    }
  };
  await walk("");
  return out;
}

/** Differences in structure, modes and bytes (not inodes/times), as readable lines. */
export function diffSnapshots(want: Snapshot, got: Snapshot): string[] {
  const out: string[] = [];
  for (const [p, w] of want) {
    const g = got.get(p);
    if (g === undefined) out.push(`missing ${p}`);
    else if (g.type !== w.type) out.push(`type ${p}: want ${w.type}, got ${g.type}`);
    else {
      if (g.mode !== w.mode)
        out.push(`mode ${p}: want ${w.mode.toString(8)}, got ${g.mode.toString(8)}`);
      if (w.bytes !== null && g.bytes !== null && !w.bytes.equals(g.bytes)) {
        out.push(`content ${p}:\n--- want\n${w.bytes.toString()}\n--- got\n${g.bytes.toString()}`);
      }
    }
  }
  for (const p of got.keys()) if (!want.has(p)) out.push(`unexpected ${p}`);
  return out;
}

export function modesManifest(s: Snapshot): string {
  return [...s.entries()]
    .map(([p, e]) => `${e.type} ${e.mode.toString(8).padStart(4, "0")} ${p}`)
    .join("\n")
    .concat("\n");
}

/** Builds the tree a manifest + content dir describe into `dest`. */
export async function materialize(
  contentDir: string,
  manifestText: string,
  dest: string,
): Promise<void> {
  await mkdir(dest, { recursive: true });
  const lines = manifestText.split("\n").filter((l) => l.trim() !== "");
  for (const line of lines) {
    const [type, mode, p] = line.split(" ", 3);
    if (type === undefined || mode === undefined || p === undefined)
      throw new Error(`bad manifest line ${line}`);
    const target = join(dest, p);
    if (type === "d") await mkdir(target, { recursive: true });
    else {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, await readFile(join(contentDir, p)));
    }
  }
  // Modes last, deepest first, so a 0700 directory does not block creating its children.
  for (const line of [...lines].reverse()) {
    const [, mode, p] = line.split(" ", 3);
    await chmod(join(dest, p ?? ""), parseInt(mode ?? "644", 8));
  }
}

/** Reads a manifest-described tree as a Snapshot (for comparison with an actual tree). */
export async function manifestSnapshot(
  contentDir: string,
  manifestText: string,
): Promise<Snapshot> {
  const out: Snapshot = new Map();
  for (const line of manifestText.split("\n").filter((l) => l.trim() !== "")) {
    const [type, mode, p] = line.split(" ", 3);
    if (p === undefined) continue;
    out.set(p, {
      type: type === "d" ? "d" : "f",
      mode: parseInt(mode ?? "0", 8),
      bytes: type === "d" ? null : await readFile(join(contentDir, p)),
      ino: 0,
      mtimeMs: 0,
    });
  }
  return out;
}
