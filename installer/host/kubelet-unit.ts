import { readdir } from "node:fs/promises";
import type { CurrentFile } from "../core/plan/desired-state.ts";
import {
  commandLineFromFiles,
  commandLineFromUnit,
  flagSources,
  type KubeletCommandLine,
} from "../core/node/existing-provider.ts";
import type { Layout } from "../core/node/flavour.ts";
import { effectiveService, unitSearchPaths, type UnitFile } from "../core/node/systemd-unit.ts";
import type { Logger } from "../log.ts";
import { readCurrentFile } from "./atomic-write.ts";
import type { HostPaths } from "./host-paths.ts";

/**
 * Reads what the kubelet's command line is made of on a flags-flavour node: its systemd unit and
 * drop-ins (host facts: links followed inside the host, e.g. a drop-in linked to /dev/null masks),
 * then the environment files the unit names. Without a readable unit, kubeadm's two files.
 * The flags file nodecred edits is read like every file it writes: no link followed.
 */
export async function readKubeletCommandLine(
  paths: HostPaths,
  layout: Layout,
  unit: string,
  log: Logger,
): Promise<KubeletCommandLine> {
  const read = async (path: string): Promise<CurrentFile | null> => {
    const own = layout.wiring.kind === "flags" && path === layout.wiring.flagsFile;
    return readCurrentFile(own ? paths.resolve(path) : paths.resolveFollowing(path));
  };
  const fromFiles = async (): Promise<KubeletCommandLine> => {
    const current = new Map<string, CurrentFile | null>();
    for (const s of flagSources(layout)) current.set(s.path, await read(s.path));
    return commandLineFromFiles(layout, current);
  };
  if (layout.wiring.kind !== "flags") return fromFiles();
  const unitName = `${unit}.service`;
  const files = await readUnitFiles(paths, unitName);
  if (files === null) return fromFiles(); // no unit file where the pod can see: kubeadm's layout
  const service = effectiveService(files);
  if (!service.ok) {
    log.warn(
      "the kubelet's systemd unit could not be read as systemd reads it; assuming kubeadm's layout",
      {
        action: "plan",
        unit: unitName,
        reason: service.problems.map((p) => `${p.path}: ${p.message}`).join("; "),
      },
    );
    return fromFiles();
  }
  const envFiles = new Map<string, CurrentFile | null>();
  for (const ref of service.value.environmentFiles) envFiles.set(ref.path, await read(ref.path));
  return commandLineFromUnit(layout, unitName, service.value, envFiles);
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The unit file (the first found) and every drop-in; null when there is no unit file. */
async function readUnitFiles(paths: HostPaths, unitName: string): Promise<UnitFile[] | null> {
  const where = unitSearchPaths(unitName);
  const text = async (path: string): Promise<string | null> => {
    let file: CurrentFile | null;
    try {
      file = await readCurrentFile(paths.resolveFollowing(path));
    } catch {
      return ""; // a link to /dev/null (a mask) or another non-regular file: empty
    }
    if (file === null) return null;
    try {
      return strictUtf8.decode(file.bytes);
    } catch {
      return "\uFFFD"; // systemd refuses a unit that is not UTF-8; effectiveService says so
    }
  };
  let main: UnitFile | null = null;
  for (const path of where.units) {
    const t = await text(path);
    if (t !== null) {
      main = { path, text: t };
      break;
    }
  }
  if (main === null) return null;
  const files: UnitFile[] = [main];
  for (const dir of where.dropInDirs) {
    let names: string[];
    try {
      names = await readdir(paths.resolveFollowing(dir));
    } catch {
      continue; // no such directory
    }
    for (const name of names.filter((n) => n.endsWith(".conf") && !n.startsWith(".")).sort()) {
      // Listed but unreadable here: a link to /dev/null (a mask), which the pod cannot see.
      const t = await text(`${dir}/${name}`);
      files.push({ path: `${dir}/${name}`, text: t ?? "" });
    }
  }
  return files;
}
