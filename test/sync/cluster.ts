// Helpers for tests that drive the installer against the real kube-apiserver of the test env.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  type V1Lease,
  type V1Secret,
} from "@kubernetes/client-node";
import type { AppliedStatus } from "../../installer/core/kubelet/kubelet-spec.ts";
import { checkConfigMapForRollout } from "../../installer/core/rollout/configmap-check.ts";
import type { SyncConfig } from "../../installer/sync/run.ts";
import { testEnv } from "../env/index.ts";

const run = promisify(execFile);
export const repoRoot = join(import.meta.dirname, "..", "..");
const installerMain = join(repoRoot, "installer", "main.ts");

export function adminKubeConfig(kubeconfig = testEnv().kube.kubeconfig): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc;
}

/** The HTTP status an API call ends with: 200 when it succeeds, else the API server's code. */
export async function apiStatus(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

/** How a command ended: its exit code (null: killed) and its output, whatever they are. */
export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Feeds `input` (or nothing) to a child's stdin; resolves with how it ended, whatever that is. */
export function childResult(child: ChildProcess, input?: string): Promise<CommandResult> {
  if (input !== undefined) child.stdin?.end(input);
  else child.stdin?.end();
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

/** `kubectl` of the pinned release against an API server, as an admin. */
export async function kubectl(
  args: readonly string[],
  kubeconfig = testEnv().kube.kubeconfig,
  input?: string,
): Promise<string> {
  const r = await childResult(
    execFile(testEnv().bins.kubectl, ["--kubeconfig", kubeconfig, ...args]),
    input,
  );
  if (r.code === 0) return r.stdout;
  throw new Error(`kubectl ${args.join(" ")} exited ${String(r.code)}: ${r.stderr}`);
}

/** A kubeconfig holding a fresh token of ServiceAccount ns/name: requests go through real RBAC. */
export async function serviceAccountKubeconfig(
  dir: string,
  namespace: string,
  name: string,
  kubeconfig = testEnv().kube.kubeconfig,
): Promise<string> {
  const core = adminKubeConfig(kubeconfig).makeApiClient(CoreV1Api);
  const { status } = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: ["https://kubernetes.default.svc"], expirationSeconds: 3600 } },
  });
  const admin = adminKubeConfig(kubeconfig).getCurrentCluster();
  if (status?.token === undefined || admin === null) throw new Error("no token");
  const file = join(dir, `${name}.kubeconfig`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        { name: "test", cluster: { server: admin.server, "certificate-authority": admin.caFile } },
      ],
      users: [{ name, user: { token: status.token } }],
      contexts: [{ name, context: { cluster: "test", user: name } }],
      "current-context": name,
    }),
    { mode: 0o600 },
  );
  return file;
}

/** The body of a Secret of `dockerconfigjson` type. */
export interface DockerConfigSecret {
  metadata: { name: string; namespace: string };
  type: string;
  data: Record<string, string>;
}

/** A `kubernetes.io/dockerconfigjson` Secret body, as `kubectl create secret docker-registry` makes. */
export function dockerConfigSecret(
  name: string,
  namespace: string,
  auths: Readonly<Record<string, { username: string; password: string }>>,
): DockerConfigSecret {
  const config = {
    auths: Object.fromEntries(
      Object.entries(auths).map(([host, c]) => [
        host,
        {
          username: c.username,
          password: c.password,
          auth: Buffer.from(`${c.username}:${c.password}`).toString("base64"),
        },
      ]),
    ),
  };
  return dockerConfigJsonSecret(name, namespace, JSON.stringify(config));
}

/** A `kubernetes.io/dockerconfigjson` Secret body whose Docker config is this text, valid or not. */
export function dockerConfigJsonSecret(
  name: string,
  namespace: string,
  dockerConfigJson: string,
): DockerConfigSecret {
  return {
    metadata: { name, namespace },
    type: "kubernetes.io/dockerconfigjson",
    data: { ".dockerconfigjson": Buffer.from(dockerConfigJson).toString("base64") },
  };
}

/**
 * A DaemonSet named `nodecred` whose pod template has no kubelet config hash yet (as right after
 * install): what the sync's config loop compares with and patches. Nothing runs it.
 */
export async function createBareDaemonSet(kc: KubeConfig, namespace: string): Promise<void> {
  await kc.makeApiClient(AppsV1Api).createNamespacedDaemonSet({
    namespace,
    body: {
      metadata: { name: "nodecred" },
      spec: {
        selector: { matchLabels: { app: "nodecred" } },
        template: {
          metadata: { labels: { app: "nodecred" } },
          spec: { containers: [{ name: "c", image: "busybox" }] },
        },
      },
    },
  });
}

/**
 * The status file `apply --status-file` writes once a node runs the config of this ConfigMap data
 * (what the sync container reads for readiness and restart reasons).
 */
export function appliedStatusFor(data: Readonly<Record<string, string>>): string {
  const checked = checkConfigMapForRollout(data);
  if (!checked.ok) throw new Error(`invalid ConfigMap data: ${JSON.stringify(checked.problems)}`);
  const status: AppliedStatus = {
    kubeletConfigHash: checked.value.hash,
    kubelet: checked.value.kubelet,
    flavour: "kubeadm-rpm",
    restarted: true,
  };
  return `${JSON.stringify(status)}\n`;
}

/** The node's policy file under a host root, parsed (as the provider reads it). */
export function policyFileOf(hostRoot: string): {
  matchImages: string[];
  auths: Record<string, { username: string; password: string }>;
} {
  return JSON.parse(
    readFileSync(join(hostRoot, "etc/nodecred/credentials/policy.json"), "utf8"),
  ) as { matchImages: string[]; auths: Record<string, { username: string; password: string }> };
}

/**
 * A namespace as an install leaves it for the sync container: these Secrets, the ConfigMap
 * `nodecred-config` holding `configMapData`, and a bare DaemonSet (createBareDaemonSet).
 */
export async function createInstalledNamespace(
  kc: KubeConfig,
  namespace: string,
  secrets: readonly V1Secret[],
  configMapData: Readonly<Record<string, string>>,
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  for (const body of secrets) await core.createNamespacedSecret({ namespace, body });
  await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: "nodecred-config" }, data: { ...configMapData } },
  });
  await createBareDaemonSet(kc, namespace);
}

/** A node of the sync container: its host root, the policy file in it, apply's status file. */
export interface SyncNode {
  readonly hostRoot: string;
  readonly policyFile: string;
  readonly appliedStatusFile: string;
}

/**
 * Node `name` under `dir` as apply leaves it: the credentials directory (root-only, no policy file
 * yet) and the status file of a node that runs the kubelet config of `configMapData`.
 */
export function syncNode(
  dir: string,
  name: string,
  configMapData: Readonly<Record<string, string>>,
): SyncNode {
  const hostRoot = join(dir, name);
  mkdirSync(join(hostRoot, "etc/nodecred/credentials"), { recursive: true, mode: 0o700 });
  const appliedStatusFile = join(dir, `${name}.applied.json`);
  writeFileSync(appliedStatusFile, appliedStatusFor(configMapData));
  return {
    hostRoot,
    policyFile: join(hostRoot, "etc/nodecred/credentials/policy.json"),
    appliedStatusFile,
  };
}

/** Who a sync container is: the namespace it serves, its node and pod. */
export interface SyncIdentity {
  readonly namespace: string;
  readonly node: string;
  readonly pod: string;
}

/** The flags of `nodecred-installer run --listen=…` for `node`, with no kubelet to check. */
export function syncFlags(node: SyncNode, kubeconfig: string, who: SyncIdentity): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--namespace=${who.namespace}`,
    `--host-root=${node.hostRoot}`,
    `--node=${who.node}`,
    `--pod=${who.pod}`,
    "--kubelet-healthz-url=",
    `--applied-status-file=${node.appliedStatusFile}`,
  ];
}

/** What `startSync` (the sync loop in-process) takes for `node`: syncFlags, on 127.0.0.1:0. */
export function inProcessSyncConfig(
  node: SyncNode,
  who: SyncIdentity,
  resyncMs: number,
): SyncConfig {
  return {
    namespace: who.namespace,
    secretName: "nodecred-credentials",
    configMapName: "nodecred-config",
    daemonSetName: "nodecred",
    nodeName: who.node,
    podName: who.pod,
    podUid: "",
    hostRoot: node.hostRoot,
    kubeconfig: null,
    listen: { host: "127.0.0.1", port: 0 },
    resyncMs,
    podConfigHash: "",
    appliedStatusFile: node.appliedStatusFile,
    kubeletHealthzUrl: "",
  };
}

export interface SyncProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Every log line so far (JSON objects), for assertions and the secrets grep. */
  readonly logs: () => string;
  metrics(): Promise<string>;
  readyz(): Promise<{ status: number; body: string }>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** `nodecred-installer run` as a real process, as the sync container runs it. */
export async function startSyncProcess(
  args: readonly string[],
  user?: { uid: number; gid: number },
  env: Readonly<Record<string, string>> = {},
): Promise<SyncProcess> {
  const child = spawn(process.execPath, [installerMain, "run", "--listen=127.0.0.1:0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
    ...(user === undefined ? {} : { uid: user.uid, gid: user.gid }),
  });
  let log = "";
  child.stdout.on("data", (c: Buffer) => (log += c.toString()));
  child.stderr.on("data", (c: Buffer) => (log += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  let port = 0;
  for (let i = 0; i < 300 && port === 0; i++) {
    const started = log
      .split("\n")
      .map((l) => (l.startsWith("{") ? (JSON.parse(l) as { msg?: string; port?: number }) : {}))
      .find((l) => l.msg === "sync started");
    if (started?.port !== undefined) port = started.port;
    else if (child.exitCode !== null) throw new Error(`sync exited ${child.exitCode}: ${log}`);
    else await new Promise((r) => setTimeout(r, 50));
  }
  if (port === 0) throw new Error(`sync did not start: ${log}`);
  const get = async (path: string): Promise<{ status: number; body: string }> => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, body: await res.text() };
  };
  return {
    child,
    port,
    logs: () => log,
    metrics: async () => (await get("/metrics")).body,
    readyz: () => get("/readyz"),
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** A node's report (its Lease in `namespace`, named after the node), or null when there is none. */
export async function nodeReportOf(
  namespace: string,
  node: string,
  kubeconfig = testEnv().kube.kubeconfig,
): Promise<V1Lease | null> {
  const coordination = adminKubeConfig(kubeconfig).makeApiClient(CoordinationV1Api);
  try {
    return await coordination.readNamespacedLease({ namespace, name: node });
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return null;
    throw err;
  }
}

/** Polls until `probe` returns a value other than undefined, or fails with `what`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function scratchDir(prefix: string): string {
  return mkdtempSync(join(testEnv().workDir, `${prefix}-`));
}

let pluginDir: string | undefined;

/**
 * `kubectl nodecred ARGS` as an operator runs it: the pinned kubectl finds dist/kubectl-nodecred
 * on PATH (its plugin lookup), and the plugin's `#!/usr/bin/env node` finds this Node. Pass
 * `--kubeconfig` in ARGS: the caller's identity is the point of most tests.
 */
export function kubectlNodecred(args: readonly string[]): Promise<CommandResult> {
  if (pluginDir === undefined) {
    const plugin = join(repoRoot, "dist", "kubectl-nodecred");
    if (!existsSync(plugin)) throw new Error(`${plugin} missing: npm run build`);
    const dir = join(scratchDir("kubectl-plugin"), "bin");
    mkdirSync(dir);
    symlinkSync(plugin, join(dir, "kubectl-nodecred"));
    pluginDir = dir;
  }
  const path = `${pluginDir}:${dirname(process.execPath)}:/usr/bin:/bin`;
  return new Promise((resolve) => {
    execFile(
      testEnv().bins.kubectl,
      ["nodecred", ...args],
      { env: { ...process.env, PATH: path } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export { run as execFileAsync };
