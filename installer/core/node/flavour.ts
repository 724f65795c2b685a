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

/**
 * A fact read off the host: os-release's ID is this word (any case); ID or ID_LIKE holds this
 * word; this path exists (one of markerPaths).
 */
export type HostFact =
  { readonly id: string } | { readonly idWord: string } | { readonly path: string };

/** A flavour and the facts that show it: any one of `anyOf`, and one of `andAnyOf` when given. */
export interface DetectionRule {
  readonly flavour: FlavourName;
  readonly anyOf: readonly HostFact[];
  readonly andAnyOf?: readonly HostFact[];
}

const paths = (...list: string[]): HostFact[] => list.map((path) => ({ path }));
const idWords = (...list: string[]): HostFact[] => list.map((idWord) => ({ idWord }));

/**
 * Which flavour a node is, and why: the first rule whose facts hold. Hosts we refuse come first
 * (their own marks win over the files they share with others), then the distributions whose
 * directories or provider configs say so, then the kubelet's env file, then os-release alone.
 */
export const detectionRules: readonly DetectionRule[] = [
  { flavour: "bottlerocket", anyOf: [{ id: "bottlerocket" }] },
  { flavour: "talos", anyOf: [{ id: "talos" }] },
  { flavour: "flatcar", anyOf: idWords("flatcar") },
  {
    flavour: "openshift",
    anyOf: [
      { id: "rhcos" },
      { id: "scos" },
      ...paths("/etc/machine-config-daemon", "/etc/mcs-machine-config-content.json"),
    ],
  },
  { flavour: "rke2", anyOf: paths("/etc/rancher/rke2") },
  { flavour: "k3s", anyOf: paths("/etc/rancher/k3s") },
  {
    flavour: "eks-al2023",
    anyOf: paths(eksConfig),
    andAnyOf: paths("/usr/bin/nodeadm", "/etc/eks/kubelet/environment"),
  },
  { flavour: "eks-al2", anyOf: paths(eksConfig) },
  { flavour: "aks", anyOf: paths(aksConfig) },
  { flavour: "gke", anyOf: paths(gkeConfig) },
  { flavour: "kubeadm-rpm", anyOf: paths("/etc/sysconfig/kubelet") },
  { flavour: "kubeadm-deb", anyOf: paths("/etc/default/kubelet") },
  { flavour: "kubeadm-deb", anyOf: idWords("debian", "ubuntu") },
  {
    flavour: "kubeadm-rpm",
    anyOf: idWords("rhel", "fedora", "centos", "suse", "sles", "opensuse", "amzn"),
  },
  { flavour: "kubeadm-rpm", anyOf: paths("/etc/sysconfig") },
];

function holds(fact: HostFact, facts: HostFacts): boolean {
  const os = facts.osRelease;
  if ("path" in fact) return facts.existing.has(fact.path);
  if ("id" in fact) return (os["ID"] ?? "").toLowerCase() === fact.id;
  const words = `${os["ID"] ?? ""} ${os["ID_LIKE"] ?? ""}`.toLowerCase().split(/\s+/);
  return words.includes(fact.idWord);
}

/** The rule that tells which flavour the host is (detectionRules); null when none holds. */
function detectionRule(facts: HostFacts): DetectionRule | null {
  const any = (list: readonly HostFact[]): boolean => list.some((f) => holds(f, facts));
  return (
    detectionRules.find((r) => any(r.anyOf) && (r.andAnyOf === undefined || any(r.andAnyOf))) ??
    null
  );
}

/** Best guess from host facts; null when nothing matches (the user must pass --flavour). */
export function detectFlavour(facts: HostFacts): FlavourName | null {
  return detectionRule(facts)?.flavour ?? null;
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
