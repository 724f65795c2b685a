// The Helm CLI of the test environment (scripts/test-env/build-helm.sh, the release scripts/helm
// pins) for the chart tests. Helm runs with its cache, config and data in a fresh temp dir and
// HOME there too (no repositories, no plugins, no kube cache of the machine's user), with no proxy
// settings, and is never given anything but a local chart and a kubeconfig for 127.0.0.1. Without
// a kubeconfig (template, lint, version) it runs in a network namespace of its own with no
// interface up: whatever it would reach for (a schema's $ref, a repository) would fail the test.
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { testEnv } from "../env/index.ts";
import { childResult, repoRoot, scratchDir } from "../sync/cluster.ts";
import { parseObjects, type Obj } from "./objects.ts";

export const chartDir = join(repoRoot, "charts", "nodecred");

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let home: string | undefined;

function helmEnv(): NodeJS.ProcessEnv {
  home ??= scratchDir("helm-home");
  const dirs = { HELM_CACHE_HOME: "cache", HELM_CONFIG_HOME: "config", HELM_DATA_HOME: "data" };
  for (const d of Object.values(dirs)) mkdirSync(join(home, d), { recursive: true });
  return {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: home,
    ...Object.fromEntries(Object.entries(dirs).map(([k, d]) => [k, join(home ?? "", d)])),
    // Commands without --kubeconfig read no one's cluster configuration.
    KUBECONFIG: join(home, "no-kubeconfig"),
  };
}

/** Runs helm; resolves with the exit code and output whatever they are. */
export async function helm(args: readonly string[], input?: string): Promise<HelmResult> {
  const offline = !args.includes("--kubeconfig");
  const argv = offline ? ["--net", "--", testEnv().bins.helm, ...args] : [...args];
  const child = execFile(offline ? "unshare" : testEnv().bins.helm, argv, {
    env: helmEnv(),
    maxBuffer: 16 * 1024 * 1024,
  });
  const r = await childResult(child, input);
  return { ...r, code: r.code ?? 128 };
}

/** Runs helm and fails with its stderr unless it exits 0; resolves with stdout. */
export async function helmOk(args: readonly string[], input?: string): Promise<string> {
  const r = await helm(args, input);
  if (r.code !== 0) throw new Error(`helm ${args.join(" ")} exited ${String(r.code)}: ${r.stderr}`);
  return r.stdout;
}

/** `helm template` of the chart as release `nodecred`, with these extra arguments (-f, --set). */
export async function renderChart(args: readonly string[] = []): Promise<Obj[]> {
  return parseObjects(
    await helmOk(["template", "nodecred", chartDir, "--namespace", "kube-system", ...args]),
  );
}

/** Every value set to something other than its default (helm-chart.test.ts renders it, helm-install.test.ts dry-runs it). */
export const allValues = {
  namespace: { name: "helm-all", create: true },
  image: {
    repository: "registry.example.com/ops/nodecred",
    tag: "0.1.0-rc1",
    pullPolicy: "Always",
  },
  config: {
    matchImages: ["a.example.com", "*.b.example.com:5000/team"],
    matching: "kubelet",
    defaultCacheDuration: "1m30s",
    providerName: "acme-nodecred",
    credentialProviderConfigTemplate:
      "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: []\n",
    credentialSets: {
      default: { namespaces: ["kube-*"] },
      "team-a": { secret: "team-a-registry", namespaces: ["team-a", "team-a-*"] },
      "team-a-ci": { secret: "team-a-ci-registry", namespaces: ["team-a"], onlyWhenSelected: true },
    },
  },
  credentials: { secretName: "acme-registry" },
  resources: {
    apply: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
    sync: { requests: { cpu: "20m", memory: "128Mi" }, limits: { cpu: "1", memory: "300Mi" } },
  },
  updateStrategy: { maxUnavailable: "10%" },
  nodeSelector: { "kubernetes.io/os": "linux" },
  tolerations: [
    { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
  ],
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [
          {
            matchExpressions: [
              { key: "kubernetes.io/arch", operator: "In", values: ["amd64", "arm64"] },
            ],
          },
        ],
      },
    },
  },
  priorityClassName: "",
  extraHostPaths: ["/home/kubernetes/bin", "/opt/credential-provider"],
  rbac: { tokenAudience: false, aggregateToView: false },
};

export function writeValues(dir: string, values: unknown): string {
  const file = join(dir, "values.yaml");
  writeFileSync(file, JSON.stringify(values, null, 2));
  return file;
}
