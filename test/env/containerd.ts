/**
 * A real containerd (Debian's, with its built-in CRI plugin) with its own root, state and socket, so
 * tests can make the kubelet's image call (CRI ImageService/PullImage) against it. Registries are
 * configured the way a node would be: one hosts.toml per registry under `config_path`.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startDaemon, waitUntil, type Daemon } from "./daemon.ts";
import type { RegistryEnv } from "./types.ts";

export interface ContainerdInstance {
  readonly daemon: Daemon;
  readonly socket: string;
  readonly root: string;
  readonly state: string;
  readonly certsDir: string;
}

/** A node's registry configuration for containerd (`certs.d/<host>/hosts.toml`). */
export function writeHostsToml(certsDir: string, registry: RegistryEnv): void {
  mkdirSync(join(certsDir, registry.host), { recursive: true });
  writeFileSync(join(certsDir, registry.host, "hosts.toml"), hostsToml(registry));
}

function hostsToml(registry: RegistryEnv): string {
  const server = `${registry.scheme}://${registry.host}`;
  const lines = [
    `server = "${server}"`,
    "",
    `[host."${server}"]`,
    `  capabilities = ["pull", "resolve"]`,
  ];
  if (registry.caFile !== undefined) lines.push(`  ca = "${registry.caFile}"`);
  return lines.join("\n") + "\n";
}

export interface ContainerdConfig {
  readonly root: string;
  readonly state: string;
  readonly socket: string;
  /** The registry `config_path` (hosts.toml per registry). */
  readonly certsDir: string;
  readonly cniBinDir: string;
  readonly cniConfDir: string;
  /** Extra lines for the CRI plugin's table (e.g. a node that runs pods needs a sandbox image). */
  readonly criSettings?: readonly string[];
}

/** containerd's config.toml with its own root, state and socket, touching none of the machine's paths. */
export function containerdConfig(c: ContainerdConfig): string {
  const cri = (c.criSettings ?? []).map((line) => `  ${line}\n`).join("");
  return `version = 2
root = "${c.root}"
state = "${c.state}"
# Plugins that would touch the machine's own paths or need kernel features we do not use.
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = "${c.socket}"

[ttrpc]
  address = "${c.socket}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  enable_cdi = false
${cri}  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${c.cniBinDir}"
    conf_dir = "${c.cniConfDir}"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "${c.certsDir}"
`;
}

export async function startContainerd(
  dir: string,
  registries: readonly RegistryEnv[],
): Promise<ContainerdInstance> {
  const base = join(dir, "containerd");
  const root = join(base, "root");
  const state = join(base, "state");
  const certsDir = join(base, "certs.d");
  const socket = join(base, "containerd.sock");
  for (const d of [root, state, certsDir, join(base, "cni-bin"), join(base, "cni-conf")]) {
    mkdirSync(d, { recursive: true });
  }
  for (const registry of registries) writeHostsToml(certsDir, registry);
  const config = join(base, "config.toml");
  writeFileSync(
    config,
    containerdConfig({
      root,
      state,
      socket,
      certsDir,
      cniBinDir: join(base, "cni-bin"),
      cniConfDir: join(base, "cni-conf"),
    }),
  );
  const daemon = startDaemon("containerd", ["containerd", "--config", config], {
    logFile: join(base, "containerd.log"),
  });
  await waitUntil(daemon, "its socket", () => Promise.resolve(existsSync(socket)));
  return { daemon, socket, root, state, certsDir };
}
