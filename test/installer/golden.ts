/**
 * Golden host trees (test/golden/installer/<case>/): shared by golden.test.ts and by
 * scripts/update-golden, which rewrites every case's expected/ tree and expected.modes.
 *
 * A case holds input/ + input.modes (the host before), case.json (flavour, kubelet version,
 * expected error), optionally its own configmap.yaml/secret.yaml (else the shared ones next to
 * the cases), and expected/ + expected.modes (the host after `apply`). A case whose input is a
 * node nodecred already changed (an older release's layout) also holds pristine/ + pristine.modes,
 * the node before nodecred, which `uninstall` must restore instead of the input.
 */
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseConfig } from "../../installer/cli/config.ts";
import { runCommand } from "../../installer/cli/commands.ts";
import { InstallerError } from "../../installer/errors.ts";
import { jsonLogger } from "../../installer/log.ts";
import { tempDir } from "../temp-dir.ts";
import { materialize } from "./tree.ts";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const goldenRoot = join(repoRoot, "test/golden/installer");
/** A few bytes standing in for the 2 MB provider executable. */
export const standInProvider = join(goldenRoot, "provider-stand-in.sh");

export interface GoldenCase {
  readonly name: string;
  readonly dir: string;
  readonly flavour: string | null;
  readonly kubeletVersion: string;
  readonly expectError: string | null;
  readonly configMap: string;
  readonly secret: string;
  /** The tree uninstall must leave: the input, or pristine/ when the input is not the node before nodecred. */
  readonly uninstalled: "input" | "pristine";
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

export async function listCases(): Promise<GoldenCase[]> {
  const out: GoldenCase[] = [];
  for (const name of (await readdir(goldenRoot)).sort()) {
    const dir = join(goldenRoot, name);
    if (!(await exists(join(dir, "case.json")))) continue;
    const meta = JSON.parse(await readFile(join(dir, "case.json"), "utf8")) as {
      flavour?: string;
      kubeletVersion?: string;
      expectError?: string;
    };
    const pick = async (f: string): Promise<string> =>
      (await exists(join(dir, f))) ? join(dir, f) : join(goldenRoot, f);
    out.push({
      name,
      dir,
      flavour: meta.flavour ?? null,
      kubeletVersion: meta.kubeletVersion ?? "v1.31.0",
      expectError: meta.expectError ?? null,
      configMap: await pick("configmap.yaml"),
      secret: await pick("secret.yaml"),
      uninstalled: (await exists(join(dir, "pristine.modes"))) ? "pristine" : "input",
    });
  }
  return out;
}

export interface RunResult {
  readonly error: InstallerError | null;
  readonly stdout: string;
  readonly logs: string;
}

/** Runs the installer's command line in-process (same code path as main.ts, no spawn). */
export async function runInstaller(argv: readonly string[]): Promise<RunResult> {
  let stdout = "";
  let logs = "";
  const log = jsonLogger((l) => (logs += l));
  try {
    await runCommand(parseConfig(argv, "x64"), log, (t) => (stdout += t));
    return { error: null, stdout, logs };
  } catch (e) {
    if (e instanceof InstallerError) return { error: e, stdout, logs };
    throw e;
  }
}

export function applyArgs(c: GoldenCase, root: string, extra: readonly string[] = []): string[] {
  return [
    "apply",
    "--host-root",
    root,
    "--configmap",
    c.configMap,
    "--secret",
    c.secret,
    "--restart",
    "none",
    "--kubelet-version",
    c.kubeletVersion,
    "--provider-binary",
    standInProvider,
    ...(c.flavour === null ? [] : ["--flavour", c.flavour]),
    ...extra,
  ];
}

/** A fresh temp copy of the case's input tree. */
export async function inputTree(c: GoldenCase): Promise<string> {
  const root = tempDir(`nodecred-golden-${c.name}-`);
  await rm(root, { recursive: true });
  await materialize(join(c.dir, "input"), await readFile(join(c.dir, "input.modes"), "utf8"), root);
  return root;
}
