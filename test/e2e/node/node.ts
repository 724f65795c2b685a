/**
 * One Kubernetes node on this machine for the end-to-end test: the upstream kubelet and Debian's
 * containerd + runc, laid out like a kubeadm node installed from the RPMs (kubelet.service with
 * kubeadm's drop-in, /etc/sysconfig/kubelet, /var/lib/kubelet/config.yaml,
 * /etc/kubernetes/kubelet.conf), run by a stand-in systemd (node-init.ts) as PID 1 of their own PID
 * and mount namespaces (and network namespace, on a test bridge, when asked: network.ts). What the
 * node writes lands in overlays under the run's temp dir; the test reads the node's files through
 * /proc/<init>/root.
 *
 * Settings this machine needs (a container with cgroup v1 and without CAP_SYS_RESOURCE):
 * failCgroupV1: false, cgroupfs, no QoS cgroups, swap allowed; containerd's
 * restrict_oom_score_adj (runc cannot set -998 here); a loopback-only CNI (pods use hostNetwork or
 * only need lo); the sandbox image imported locally.
 */
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { containerdConfig, writeHostsToml } from "../../env/containerd.ts";
import { startDaemon, waitUntil } from "../../env/daemon.ts";
import { issueCert, type KeyPair } from "../../env/pki.ts";
import type { RegistryEnv } from "../../env/types.ts";
import { lockNodePorts } from "./host-ports.ts";
import { attachNode, detachNode, type NodeNetwork } from "./network.ts";
import type { NodeSpec } from "./spec.ts";

const repo = join(import.meta.dirname, "..", "..", "..");
const node24 = join(repo, "node_modules", ".bin", "node");

export interface JournalEntry {
  readonly at: number;
  readonly event: string;
  readonly pid?: number;
  readonly code?: number | null;
  readonly fromPid1?: string;
  readonly providerFlags?: string[];
}

export interface NodeOptions {
  readonly dir: string;
  readonly name: string;
  readonly kubeletBin: string;
  readonly apiServer: string;
  readonly kubeCa: KeyPair;
  readonly registries: readonly RegistryEnv[];
  /** A runnable image (skopeo source) imported as the sandbox ("pause") image. */
  readonly sandboxImageSource: string;
  /**
   * Its own network namespace on the test bridge (network.ts), the kubelet's `--node-ip` its
   * address. Without it the node shares this machine's network and holds the port lock.
   */
  readonly network?: NodeNetwork;
}

export interface TestNode {
  readonly name: string;
  /** The stand-in init's PID in this (the test's) PID namespace. */
  readonly initPid: number;
  /** A file as the node sees it, or null when it does not exist there. */
  file(path: string): string | null;
  journal(): JournalEntry[];
  /** Test knob: the kubelet refuses to start while its provider config contains `text`. */
  refuseProviderConfigContaining(text: string | null): void;
  kubeletLog(): string;
  stop(): Promise<void>;
}

const sandboxImage = "nodecred.test/pause:1";

function kubeletConfiguration(socket: string): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This machine: cgroup v1, swap may be on, no systemd.
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
localStorageCapacityIsolation: false
containerRuntimeEndpoint: unix://${socket}
healthzBindAddress: 127.0.0.1
healthzPort: 10248
readOnlyPort: 0
# Only holders of a certificate from the cluster CA (the API server's kubelet client) get in.
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: false }
  x509: { clientCAFile: /etc/kubernetes/pki/ca.crt }
authorization:
  mode: AlwaysAllow
evictionHard: { memory.available: "1Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%" }
imageGCHighThresholdPercent: 100
volumePluginDir: /var/lib/kubelet/volume-plugins
# Quick status updates so the test sees Ready soon after a restart.
nodeStatusUpdateFrequency: 2s
syncFrequency: 10s
fileCheckFrequency: 5s
`;
}

function kubeconfig(server: string, ca: string, cert: string, key: string, user: string): string {
  const b64 = (s: string): string => Buffer.from(s).toString("base64");
  return `apiVersion: v1
kind: Config
clusters:
  - name: e2e
    cluster: { server: "${server}", certificate-authority-data: ${b64(ca)} }
users:
  - name: ${user}
    user: { client-certificate-data: ${b64(cert)}, client-key-data: ${b64(key)} }
contexts:
  - name: ${user}@e2e
    context: { cluster: e2e, user: ${user} }
current-context: ${user}@e2e
`;
}

/** The node's host PID: the only child of `unshare --fork`. */
async function childOf(pid: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    try {
      const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
      const first = Number(kids.split(" ")[0]);
      if (kids !== "" && Number.isInteger(first)) return first;
    } catch {
      // not there yet
    }
    await sleep(50);
  }
  throw new Error(`no child of ${pid}`);
}

/**
 * Removes the cgroups runc made for the node's containers (cgroupfs driver, v1): they outlive the
 * processes. Only empty directories go; rmdir refuses the others.
 */
function removeContainerCgroups(ids: ReadonlySet<string>): void {
  if (ids.size === 0) return;
  const roots = readdirSync("/sys/fs/cgroup").map((c) => join("/sys/fs/cgroup", c));
  const visit = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return;
    }
    for (const name of entries) {
      const path = join(dir, name);
      if (ids.has(name)) {
        try {
          rmdirSync(path);
        } catch {
          // still has processes or children: leave it
        }
      } else if (name === "k8s.io" || name === "kubepods" || /^pod[0-9a-f-]{36}$/.test(name)) {
        visit(path);
        try {
          if (readdirSync(path, { withFileTypes: true }).every((e) => !e.isDirectory())) {
            rmdirSync(path);
          }
        } catch {
          // in use by someone else
        }
      }
    }
  };
  for (const root of roots) visit(root);
}

export async function startNode(opts: NodeOptions): Promise<TestNode> {
  // In its own network namespace, the node's ports (10250, 10248, 9847) are its own.
  const net = opts.network;
  const release =
    net === undefined
      ? await lockNodePorts(`node ${opts.name}`)
      : (): void => {
          detachNode(net);
        };
  try {
    return await startLockedNode(opts, release);
  } catch (err) {
    release();
    throw err;
  }
}

async function startLockedNode(opts: NodeOptions, release: () => void): Promise<TestNode> {
  const work = join(opts.dir, `node-${opts.name}`);
  const base = join(work, "containerd");
  const certsDir = join(base, "certs.d");
  const cniConf = join(base, "cni-conf");
  const faults = join(work, "faults");
  for (const d of [base, certsDir, cniConf, faults]) mkdirSync(d, { recursive: true });
  for (const registry of opts.registries) writeHostsToml(certsDir, registry);
  writeFileSync(
    join(cniConf, "10-loopback.conflist"),
    JSON.stringify({ cniVersion: "1.0.0", name: "lo-only", plugins: [{ type: "loopback" }] }),
  );
  const socket = join(base, "containerd.sock");
  const containerdToml = join(base, "config.toml");
  writeFileSync(
    containerdToml,
    containerdConfig({
      root: join(base, "root"),
      state: "/run/containerd", // the node's own tmpfs /run
      socket,
      certsDir,
      cniBinDir: "/usr/lib/cni", // Debian's containernetworking-plugins (loopback)
      cniConfDir: cniConf,
      criSettings: [
        `sandbox_image = "${sandboxImage}"`,
        "# runc cannot set the sandbox's oom_score_adj of -998 without CAP_SYS_RESOURCE (not given here).",
        "restrict_oom_score_adj = true",
      ],
    }),
  );

  const pki = join(work, "pki");
  mkdirSync(pki);
  const client = issueCert(opts.kubeCa, pki, "kubelet-client", {
    commonName: `system:node:${opts.name}`,
    organization: "system:nodes",
    usage: "client",
  });
  const read = (p: string): string => readFileSync(p, "utf8");
  const initSocket = join(work, "init.sock");
  const nodeIp =
    opts.network === undefined ? "" : ` --node-ip=${opts.network.address.split("/")[0] ?? ""}`;
  const spec: NodeSpec = {
    work,
    overlays: ["/etc", "/var", "/usr/local/bin"],
    files: [
      {
        path: "/etc/systemd/system/kubelet.service",
        mode: 0o644,
        content: `[Unit]
Description=kubelet: The Kubernetes Node Agent

[Service]
ExecStart=/usr/local/bin/kubelet
Restart=always
RestartSec=2
`,
      },
      {
        // kubeadm's drop-in (kubernetes/release rpm/deb), paths as on an RPM node.
        path: "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
        mode: 0o644,
        content: `[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/sysconfig/kubelet
ExecStart=
ExecStart=/usr/local/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`,
      },
      {
        path: "/var/lib/kubelet/kubeadm-flags.env",
        mode: 0o644,
        content: `KUBELET_KUBEADM_ARGS="--hostname-override=${opts.name}${nodeIp}"\n`,
      },
      { path: "/etc/kubernetes/pki/ca.crt", mode: 0o644, content: read(opts.kubeCa.cert) },
      // As the kubelet RPM ships it.
      { path: "/etc/sysconfig/kubelet", mode: 0o644, content: "KUBELET_EXTRA_ARGS=\n" },
      { path: "/var/lib/kubelet/config.yaml", mode: 0o644, content: kubeletConfiguration(socket) },
      {
        path: "/etc/kubernetes/kubelet.conf",
        mode: 0o600,
        content: kubeconfig(
          opts.apiServer,
          read(opts.kubeCa.cert),
          read(client.cert),
          read(client.key),
          `system:node:${opts.name}`,
        ),
      },
      {
        path: "/usr/local/bin/systemctl",
        mode: 0o755,
        content: `#!/bin/sh\n# stand-in systemctl (test/e2e/node/systemctl.ts)\nNODECRED_E2E_INIT_SOCKET='${initSocket}' exec '${node24}' '${join(import.meta.dirname, "systemctl.ts")}' "$@"\n`,
      },
    ],
    symlinks: [{ path: "/usr/local/bin/kubelet", target: opts.kubeletBin }],
    containerdConfig: containerdToml,
    socket: initSocket,
    journal: join(work, "journal.log"),
    faults,
    ...(opts.network === undefined ? {} : { network: { address: opts.network.address } }),
  };
  const specFile = join(work, "spec.json");
  writeFileSync(specFile, JSON.stringify(spec, null, 2));
  const daemon = startDaemon(
    `node ${opts.name}`,
    [
      "unshare",
      "--fork",
      "--pid",
      "--mount",
      "--mount-proc",
      "--propagation",
      "private",
      "--kill-child=SIGKILL",
      ...(opts.network === undefined ? [] : ["--net"]),
      node24,
      join(import.meta.dirname, "node-init.ts"),
      specFile,
    ],
    { logFile: join(work, "init.log") },
  );
  // setpriv → unshare → node-init: unshare is setpriv's exec'd image (same PID), node-init its child.
  let initPid: number;
  try {
    initPid = await childOf(daemon.pid);
    // Its init waits for eth0 before it starts containerd.
    if (opts.network !== undefined) attachNode(opts.network, initPid);
    await waitUntil(daemon, "containerd's socket", () => Promise.resolve(existsSync(socket)));
    // The sandbox image, imported (nothing here can reach registry.k8s.io).
    const archive = join(work, "pause.tar");
    execFileSync("skopeo", [
      "copy",
      "--quiet",
      opts.sandboxImageSource,
      `docker-archive:${archive}:${sandboxImage}`,
    ]);
    await waitUntil(daemon, "containerd to import the sandbox image", () => {
      execFileSync("ctr", ["--address", socket, "-n", "k8s.io", "images", "import", archive], {
        stdio: "ignore",
      });
      return Promise.resolve(true);
    });
  } catch (err) {
    // unshare --kill-child ends the init, and the PID namespace with it.
    await daemon.stop(1000);
    throw err;
  }

  const journalFile = spec.journal;
  const containerIds = (): Set<string> => {
    try {
      const out = execFileSync(
        "ctr",
        ["--address", socket, "-n", "k8s.io", "containers", "list", "--quiet"],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 },
      );
      return new Set(out.split("\n").filter((l) => l !== ""));
    } catch {
      return new Set();
    }
  };
  return {
    name: opts.name,
    initPid,
    file(path: string): string | null {
      try {
        return readFileSync(join(`/proc/${initPid}/root`, path), "utf8");
      } catch {
        return null;
      }
    },
    journal(): JournalEntry[] {
      return readFileSync(journalFile, "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as JournalEntry);
    },
    refuseProviderConfigContaining(text: string | null): void {
      const knob = join(faults, "kubelet-refuses-config-containing");
      if (text === null) rmSync(knob, { force: true });
      else writeFileSync(knob, `${text}\n`);
    },
    kubeletLog: () => read(join(work, "kubelet.log")),
    async stop(): Promise<void> {
      const ids = containerIds();
      if (daemon.isRunning()) {
        try {
          process.kill(initPid, "SIGTERM");
        } catch {
          // already gone
        }
        const done = await Promise.race([
          daemon.exited.then(() => true),
          sleep(30_000).then(() => false),
        ]);
        if (!done) await daemon.stop(1000);
      }
      removeContainerCgroups(ids);
      release();
    },
  };
}
