/**
 * Builds a tiny OCI image without a Docker engine (umoci; its only file is Debian's static busybox)
 * and pushes it to a registry with skopeo, using credentials.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RegistryEnv } from "./types.ts";

function run(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Returns the `oci:` transport reference of the built image. */
export function buildTinyImage(dir: string, tag: string): string {
  const layout = join(dir, "oci");
  const ref = `${layout}:${tag}`;
  const bundle = join(dir, "bundle");
  run("umoci", ["init", "--layout", layout]);
  run("umoci", ["new", "--image", ref]);
  run("umoci", ["unpack", "--image", ref, bundle]);
  const bin = join(bundle, "rootfs", "bin");
  mkdirSync(bin, { recursive: true });
  copyFileSync("/bin/busybox", join(bin, "busybox"));
  chmodSync(join(bin, "busybox"), 0o755);
  symlinkSync("busybox", join(bin, "sh"));
  run("umoci", ["repack", "--image", ref, bundle]);
  run("umoci", [
    "config",
    "--image",
    ref,
    "--config.cmd",
    "/bin/sh",
    "--config.cmd",
    "-c",
    "--config.cmd",
    "sleep 3600",
  ]);
  return `oci:${ref}`;
}

/**
 * skopeo's TLS flags for a registry of the test environment (a CA dir for TLS, plain HTTP otherwise);
 * `copy` names them per side (`src-`, `dest-`), `inspect` has them bare.
 */
export function skopeoTlsArgs(registry: RegistryEnv, side: "src-" | "dest-" | ""): string[] {
  if (registry.scheme === "http") return [`--${side}tls-verify=false`];
  if (registry.caDir === undefined) throw new Error("TLS registry without a CA directory");
  return [`--${side}cert-dir`, registry.caDir];
}

/**
 * A containers-auth.json file for skopeo (`--authfile`), so passwords never stand in a process's argv.
 */
export function writeAuthFile(
  path: string,
  entries: Readonly<Record<string, { username: string; password: string }>>,
): string {
  const auths: Record<string, { auth: string }> = {};
  for (const [host, c] of Object.entries(entries)) {
    auths[host] = { auth: Buffer.from(`${c.username}:${c.password}`).toString("base64") };
  }
  writeFileSync(path, JSON.stringify({ auths }), { mode: 0o600 });
  return path;
}

export function pushImage(
  source: string,
  registry: RegistryEnv,
  repository: string,
  tag: string,
  authFile: string,
): void {
  run("skopeo", [
    "copy",
    "--quiet",
    ...skopeoTlsArgs(registry, "dest-"),
    "--dest-authfile",
    authFile,
    source,
    `docker://${registry.host}/${repository}:${tag}`,
  ]);
}
