/**
 * Host flavours: how each kind of node wires the kubelet to a credential provider, and how
 * to tell them apart from facts read off the host. Paths are host paths (under --host-root).
 * The table in installer/README.md "Host flavours" lists, per flavour, the files this reads.
 */

import { DEFAULT_POLICY_PATH } from "../../../provider/core/policy.ts";

export const flavourNames = [
  "kubeadm-rpm",
  "kubeadm-deb",
  "eks-al2",
  "eks-al2023",
  "aks",
  "gke",
  "k3s",
  "rke2",
  "bottlerocket",
  "talos",
  "flatcar",
  "openshift",
] as const;
export type FlavourName = (typeof flavourNames)[number];

export function isFlavourName(s: string): s is FlavourName {
  return (flavourNames as readonly string[]).includes(s);
}

/** Where everything nodecred owns lives, whatever the flavour. */
export const nodecredPaths = {
  root: "/etc/nodecred",
  ownedConfig: "/etc/nodecred/credential-provider-config.yaml",
  ownedBinDir: "/etc/nodecred/bin",
  credentialsDir: "/etc/nodecred/credentials",
  /** The live policy: matchImages + credentials, rewritten by the sync container. */
  policyFile: DEFAULT_POLICY_PATH,
  stateDir: "/var/lib/nodecred",
  stateFile: "/var/lib/nodecred/state.json",
  backupDir: "/var/lib/nodecred/backup",
  /** Held by one apply/uninstall at a time (see host/node-lock.ts). */
  lockFile: "/var/lib/nodecred/lock",
} as const;

export type Wiring =
  /** We own the config and add our two flags to an env file the kubelet unit reads. */
  | { readonly kind: "flags"; readonly flagsFile: string; readonly variable: string }
  /** The node's flags already point at a config: merge our entry, never touch the flags. */
  | { readonly kind: "merge" }
  /** k3s/RKE2 add both flags themselves when these default paths exist at start. */
  | { readonly kind: "default-paths" };

export interface Layout {
  readonly flavour: FlavourName;
  readonly wiring: Wiring;
  readonly configPath: string;
  readonly binDir: string;
  /** Command (in the host's namespaces) whose `--version` reports the kubelet version. */
  readonly versionCommand: string;
}

export interface Refusal {
  readonly flavour: FlavourName;
  readonly reason: string;
}

const rancherConfig = "/var/lib/rancher/credentialprovider/config.yaml";
const rancherBin = "/var/lib/rancher/credentialprovider/bin";
const eksConfig = "/etc/eks/image-credential-provider/config.json";
const eksBin = "/etc/eks/image-credential-provider";
const aksConfig = "/var/lib/kubelet/credential-provider-config.yaml";
const aksBin = "/var/lib/kubelet/credential-provider";
const gkeConfig = "/etc/srv/kubernetes/cri_auth_config.yaml";
const gkeBin = "/home/kubernetes/bin";

const refusals: Partial<Record<FlavourName, string>> = {
  bottlerocket:
    "Bottlerocket has a read-only root and configures credential providers through its API (settings.kubernetes.credential-providers); nodecred cannot install a binary there",
  talos:
    "Talos has no shell or systemd and configures the kubelet through its machine config (machine.kubelet.credentialProviderConfig plus a system extension); nodecred cannot install there",
  flatcar:
    "Flatcar-style hosts have a read-only /usr and expect node changes through Ignition/systemd units, not in-place edits; nodecred does not change them",
  openshift:
    "OpenShift/RHCOS nodes are managed by the Machine Config Operator, which reverts in-place edits and reboots nodes; use a MachineConfig instead",
};

const systemdDirs = [
  "/etc/systemd/system",
  "/usr/lib/systemd/system",
  "/lib/systemd/system",
  "/usr/local/lib/systemd/system",
];
const wantsDir = "/etc/systemd/system/multi-user.target.wants";
const rancherUnits = ["k3s", "k3s-agent", "rke2-server", "rke2-agent"];

/** Paths whose existence the shell reports to detectFlavour / restartUnit. */
export const markerPaths: readonly string[] = [
  "/etc/sysconfig",
  "/etc/sysconfig/kubelet",
  "/etc/default/kubelet",
  eksConfig,
  "/etc/eks/bootstrap.sh",
  "/usr/bin/nodeadm",
  "/etc/eks/kubelet/environment",
  aksConfig,
  gkeConfig,
  "/etc/rancher/k3s",
  "/etc/rancher/rke2",
  "/etc/machine-config-daemon",
  "/etc/mcs-machine-config-content.json",
  ...rancherUnits.flatMap((u) => [
    `${wantsDir}/${u}.service`,
    ...systemdDirs.map((d) => `${d}/${u}.service`),
  ]),
];

export interface HostFacts {
  /** Parsed /etc/os-release (or /usr/lib/os-release); empty when absent. */
  readonly osRelease: Readonly<Record<string, string>>;
  /** The subset of markerPaths that exist. */
  readonly existing: ReadonlySet<string>;
}

/** os-release is a shell-quoted KEY=value file; we only need the plain values. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m === null) continue;
    let v = m[2] ?? "";
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) {
      v = v.slice(1, -1).replace(/\\(.)/g, "$1");
    }
    out[m[1] ?? ""] = v;
  }
  return out;
}

export function layoutFor(flavour: FlavourName): Layout | Refusal {
  const reason = refusals[flavour];
  if (reason !== undefined) return { flavour, reason };
  const owned = (flagsFile: string): Layout => ({
    flavour,
    wiring: { kind: "flags", flagsFile, variable: "KUBELET_EXTRA_ARGS" },
    configPath: "/etc/nodecred/credential-provider-config.yaml",
    binDir: "/etc/nodecred/bin",
    versionCommand: "kubelet",
  });
  const merge = (configPath: string, binDir: string): Layout => ({
    flavour,
    wiring: { kind: "merge" },
    configPath,
    binDir,
    versionCommand: "kubelet",
  });
  switch (flavour) {
    case "kubeadm-rpm":
      return owned("/etc/sysconfig/kubelet");
    case "kubeadm-deb":
      return owned("/etc/default/kubelet");
    case "eks-al2":
    case "eks-al2023":
      return merge(eksConfig, eksBin);
    case "aks":
      return merge(aksConfig, aksBin);
    case "gke":
      return merge(gkeConfig, gkeBin);
    case "k3s":
    case "rke2":
      return {
        flavour,
        wiring: { kind: "default-paths" },
        configPath: rancherConfig,
        binDir: rancherBin,
        versionCommand: flavour,
      };
    default:
      return { flavour, reason: `unsupported flavour ${flavour}` };
  }
}

export function isRefusal(l: Layout | Refusal): l is Refusal {
  return "reason" in l;
}

function idWords(os: Readonly<Record<string, string>>): string[] {
  return `${os["ID"] ?? ""} ${os["ID_LIKE"] ?? ""}`.toLowerCase().split(/\s+/).filter(Boolean);
}

/** Best guess from host facts; null when nothing matches (the user must pass --flavour). */
export function detectFlavour(facts: HostFacts): FlavourName | null {
  const has = (p: string): boolean => facts.existing.has(p);
  const id = (facts.osRelease["ID"] ?? "").toLowerCase();
  const words = idWords(facts.osRelease);
  if (id === "bottlerocket") return "bottlerocket";
  if (id === "talos") return "talos";
  if (id === "flatcar" || words.includes("flatcar")) return "flatcar";
  if (
    id === "rhcos" ||
    id === "scos" ||
    has("/etc/machine-config-daemon") ||
    has("/etc/mcs-machine-config-content.json")
  ) {
    return "openshift";
  }
  if (has("/etc/rancher/rke2")) return "rke2";
  if (has("/etc/rancher/k3s")) return "k3s";
  if (has(eksConfig)) {
    return has("/usr/bin/nodeadm") || has("/etc/eks/kubelet/environment")
      ? "eks-al2023"
      : "eks-al2";
  }
  if (has(aksConfig)) return "aks";
  if (has(gkeConfig)) return "gke";
  if (has("/etc/sysconfig/kubelet")) return "kubeadm-rpm";
  if (has("/etc/default/kubelet")) return "kubeadm-deb";
  if (words.some((w) => ["debian", "ubuntu"].includes(w))) return "kubeadm-deb";
  if (
    words.some((w) => ["rhel", "fedora", "centos", "suse", "sles", "opensuse", "amzn"].includes(w))
  ) {
    return "kubeadm-rpm";
  }
  if (has("/etc/sysconfig")) return "kubeadm-rpm";
  return null;
}

/** The systemd unit that runs the kubelet (k3s/RKE2 run it in-process). */
export function restartUnit(flavour: FlavourName, facts: HostFacts): string {
  if (flavour !== "k3s" && flavour !== "rke2") return "kubelet";
  const [server, agent] = flavour === "k3s" ? ["k3s", "k3s-agent"] : ["rke2-server", "rke2-agent"];
  const has = (p: string): boolean => facts.existing.has(p);
  // An enabled unit is the one running; otherwise any installed one; servers by default.
  if (has(`${wantsDir}/${server}.service`)) return server;
  if (has(`${wantsDir}/${agent}.service`)) return agent;
  if (systemdDirs.some((d) => has(`${d}/${server}.service`))) return server;
  if (systemdDirs.some((d) => has(`${d}/${agent}.service`))) return agent;
  return server;
}
