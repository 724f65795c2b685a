// Runs a provider build as the kubelet does: argv, a request on stdin, stdout/stderr/exit code back.
// Shared with the real-pull tests, so it knows both builds: a path ending in .mjs/.js runs under
// this Node, anything else is executed directly.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface ProviderRun {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit code; -1 if the process was killed by a signal. */
  readonly code: number;
}

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const NODE_BUNDLE = join(REPO_ROOT, "dist", "provider", "nodecred-provider.mjs");

/** The static binary for an architecture (default: this machine's). */
export function staticBinary(
  arch: "amd64" | "arm64" = process.arch === "arm64" ? "arm64" : "amd64",
): string {
  return join(REPO_ROOT, "dist", "bin", `nodecred-provider-linux-${arch}`);
}

export function runProvider(binPath: string, argv: readonly string[], stdin: string): ProviderRun {
  if (!existsSync(binPath)) {
    throw new Error(`${binPath} does not exist: run \`npm run build\` first`);
  }
  const isScript = binPath.endsWith(".mjs") || binPath.endsWith(".js");
  const command = isScript ? process.execPath : binPath;
  const args = isScript ? [binPath, ...argv] : [...argv];
  // An empty environment: the kubelet passes its own, and nothing in it may change our answer
  // (NODE_OPTIONS would, for the Node build — one reason the shipped build is not Node).
  const result = spawnSync(command, args, {
    input: stdin,
    encoding: "utf8",
    env: {},
    timeout: 60_000,
  });
  // EPIPE: the program exited (e.g. on a usage error) before reading its stdin, as it may; its
  // exit code and output are what count, as for the kubelet.
  if (result.error !== undefined && (result.error as NodeJS.ErrnoException).code !== "EPIPE") {
    throw result.error;
  }
  return { stdout: result.stdout, stderr: result.stderr, code: result.status ?? -1 };
}
