/**
 * A fleet against the real API server and etcd of the test environment: N in-process instances of
 * the real sync loop (`startSync`, installer/sync/run.ts), each with its own host root, node name,
 * pod name, status port and ServiceAccount token (N ServiceAccounts bound to the Role of
 * manifests/rbac.yaml), so the API server sees N clients under real RBAC. Then R rotations
 * (Secret password updates) and R live matchImages edits (inside the envelope). Printed:
 *   - fan-out: from the update request to the new content in the policy file on every host
 *     (p50/p95/max over rounds of the slowest host, and per host), against a bare client-node
 *     watch of the same update measured in the same run;
 *   - API requests per rotation and per edit by verb, resource and code, from the API server's
 *     own apiserver_request_total (diffed around each round; the bench's own update subtracted,
 *     its other requests made outside the windows);
 *   - Events created per round, node report (Lease) writes, the agents' CPU and memory;
 *   - the fleet view after each round: how many Leases report the current version (one list).
 * A benchmark, not a test: nothing is asserted but that every host gets every update.
 * Run through scripts/bench-fleet (it starts the test environment).
 */
import { execFile } from "node:child_process";
import { watch, readFileSync, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import {
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1PolicyRule,
} from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { kubeApi } from "../installer/cluster/kube-api.ts";
import type { Logger } from "../installer/log.ts";
import { startSync, type SyncHandle } from "../installer/sync/run.ts";
import { testEnv } from "../test/env/index.ts";
import {
  adminKubeConfig,
  inProcessSyncConfig,
  repoRoot,
  scratchDir,
  syncNode,
} from "../test/sync/cluster.ts";
import { benchNamespace, stats } from "./bench-updates.ts";

const agents = Number(process.argv[2] ?? "500");
const rounds = Number(process.argv[3] ?? "20");
/** An idle window after the rounds (s): what the fleet costs when nothing changes (watch renewals). */
const idleSeconds = Number(process.argv[4] ?? "0");
const ns = "bench-fleet";
const registry = "registry.fleet.test";
const run = promisify(execFile);
const env = testEnv();
const admin = adminKubeConfig();
const core = admin.makeApiClient(CoreV1Api);
const coordination = admin.makeApiClient(CoordinationV1Api);
const started = performance.now();
const phase = (what: string): void => {
  process.stderr.write(
    `bench-fleet: ${((performance.now() - started) / 1000).toFixed(1)} s ${what}\n`,
  );
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function inBatches<T, R>(
  items: readonly T[],
  size: number,
  f: (t: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(...(await Promise.all(items.slice(i, i + size).map(f))));
  }
  return out;
}

/** apiserver_request_total by "VERB resource[/subresource] code", from the API server's /metrics. */
async function requestCounts(): Promise<Map<string, number>> {
  const { stdout } = await run(
    env.bins.kubectl,
    ["--kubeconfig", env.kube.kubeconfig, "get", "--raw", "/metrics"],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  const counts = new Map<string, number>();
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const labels = Object.fromEntries(
      [...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] ?? "", m[2] ?? ""]),
    );
    // Non-resource requests (/metrics itself, /healthz) are not the fleet's, nor the API server's
    // own identity Lease (kube-system, renewed with PUT every 10 s; the agents PATCH or POST).
    if ((labels["resource"] ?? "") === "") continue;
    if (labels["resource"] === "leases" && labels["verb"] === "PUT") continue;
    const sub = labels["subresource"] ? `/${labels["subresource"]}` : "";
    const key = `${labels["verb"] ?? "?"} ${labels["resource"] ?? ""}${sub} ${labels["code"] ?? ""}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.split(" ").pop()));
  }
  return counts;
}
function diff(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const d = new Map<string, number>();
  for (const [k, v] of after) {
    const n = v - (before.get(k) ?? 0);
    if (n !== 0) d.set(k, n);
  }
  return d;
}
function subtract(d: Map<string, number>, key: string, n: number): void {
  const left = (d.get(key) ?? 0) - n;
  if (left === 0) d.delete(key);
  else d.set(key, left);
}

/** Events in the bench namespace and in `default` (where Events about Nodes go). */
async function eventCount(): Promise<number> {
  const lists = await Promise.all(
    [ns, "default"].map((namespace) => core.listNamespacedEvent({ namespace })),
  );
  return lists.reduce((n, l) => n + l.items.length, 0);
}

/** The fleet view: Leases that report `label=value` (one list with a label selector). */
async function reporting(label: string, value: string): Promise<number> {
  const list = await coordination.listNamespacedLease({
    namespace: ns,
    labelSelector: `app.kubernetes.io/name=nodecred,${label}=${value}`,
  });
  return list.items.length;
}

// --- the cluster side: namespace, the shipped Role bound to N ServiceAccounts, Secret, ConfigMap.
const bench = benchNamespace(admin, ns, registry, "*.fleet.test");
const initial = bench.installedData;
const shippedRole = parseAllDocuments(readFileSync(join(repoRoot, "manifests/rbac.yaml"), "utf8"))
  .map((d) => d.toJSON() as { kind: string; metadata: { name: string }; rules?: V1PolicyRule[] })
  .find((d) => d.kind === "Role" && d.metadata.name === "nodecred");
if (shippedRole?.rules === undefined) throw new Error("no Role nodecred in manifests/rbac.yaml");
await bench.create();
// The shipped rules, for this namespace's objects (the ConfigMap and DaemonSet keep their names).
const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
await rbac.createNamespacedRole({
  namespace: ns,
  body: { metadata: { name: "nodecred" }, rules: shippedRole.rules },
});
// Every ServiceAccount of the namespace (one RoleBinding to their group: RBAC evaluates it for
// each agent's own token all the same).
await rbac.createNamespacedRoleBinding({
  namespace: ns,
  body: {
    metadata: { name: "nodecred" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "nodecred" },
    subjects: [
      {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Group",
        name: `system:serviceaccounts:${ns}`,
      },
    ],
  },
});
const dir = scratchDir("bench-fleet");

const names = Array.from({ length: agents }, (_, i) => String(i).padStart(4, "0"));
const cluster = admin.getCurrentCluster();
if (cluster === null) throw new Error("no cluster in the admin kubeconfig");
phase(`creating ${agents} ServiceAccounts and tokens`);
const tokens = await inBatches(names, 50, async (n) => {
  await core.createNamespacedServiceAccount({
    namespace: ns,
    body: { metadata: { name: `agent-${n}` } },
  });
  const { status } = await core.createNamespacedServiceAccountToken({
    namespace: ns,
    name: `agent-${n}`,
    body: { spec: { audiences: ["https://kubernetes.default.svc"], expirationSeconds: 7200 } },
  });
  if (status?.token === undefined) throw new Error(`no token for agent-${n}`);
  return status.token;
});

// --- the agents.
const warnings = new Map<string, number>();
const count = (msg: string): void => {
  warnings.set(msg, (warnings.get(msg) ?? 0) + 1);
};
const quiet: Logger = { info: () => undefined, warn: count, error: count };
const nodes = names.map((n) => ({ n, node: syncNode(dir, `node-${n}`, initial) }));
const hosts = nodes.map(({ node }) => node.hostRoot);
globalThis.gc?.();
const memBefore = process.memoryUsage();
phase(`starting ${agents} agents`);
const handles: SyncHandle[] = await inBatches(nodes, 50, async ({ n, node }) => {
  const i = Number(n);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name: "bench", server: cluster.server, caFile: cluster.caFile, skipTLSVerify: false },
    ],
    users: [{ name: `agent-${n}`, token: tokens[i] }],
    contexts: [{ name: "bench", cluster: "bench", user: `agent-${n}` }],
    currentContext: "bench",
  });
  return startSync(
    // A resync beyond the run: every pass measured is caused by the update of its round.
    inProcessSyncConfig(
      node,
      { namespace: ns, node: `node-${n}`, pod: `nodecred-${n}` },
      3_600_000,
    ),
    kubeApi(kc),
    quiet,
  );
});
const policyOf = (host: string): string => {
  try {
    return readFileSync(join(host, "etc/nodecred/credentials/policy.json"), "utf8");
  } catch {
    return "";
  }
};
const sumMetric = async (name: string): Promise<number> => {
  let total = 0;
  for (const h of handles) {
    const metric = (await h.metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
    for (const v of metric) total += v.value;
  }
  return total;
};
const allIdle = async (): Promise<void> => {
  await Promise.all(handles.map((h) => h.idle()));
  // Events are recorded without waiting (never holding a pass): give them their round trip.
  await sleep(300);
  await Promise.all(handles.map((h) => h.idle()));
};
const startDeadline = performance.now() + 300_000;
while (
  !hosts.every((h) => policyOf(h).includes("pw-0")) ||
  (await sumMetric("nodecred_node_report_writes_total")) < agents
) {
  if (performance.now() > startDeadline) {
    throw new Error(
      `not every agent synced in 300 s: ${hosts.filter((h) => !policyOf(h).includes("pw-0")).length} files missing, ${await sumMetric("nodecred_node_report_writes_total")} reports`,
    );
  }
  await sleep(200);
}
await allIdle();
const startedAgentsAt = performance.now();
globalThis.gc?.();
const memSynced = process.memoryUsage();
phase(
  `${agents} agents synced; fleet view: ${await reporting("nodecred.io/state", "current")} current`,
);
const startupErrors = await sumMetric("nodecred_errors_total");

// --- baseline: a bare watch of the same objects, in the same process.
const seenByWatch = new Map<string, number>();
const bareWatches = await bench.watchMarkers(seenByWatch);

// --- the policy files, watched (inotify) so that each host's first sight of a round is timed.
let marker = "";
let roundStart = 0;
let seen = new Map<number, number>();
let allSeen: (() => void) | null = null;
const look = (i: number): void => {
  if (marker === "" || seen.has(i)) return;
  if (!policyOf(hosts[i] ?? "").includes(marker)) return;
  seen.set(i, performance.now() - roundStart);
  if (seen.size === agents) allSeen?.();
};
const watchers: FSWatcher[] = hosts.map((host, i) =>
  watch(join(host, "etc/nodecred/credentials"), () => {
    look(i);
  }),
);

interface Round {
  kind: "rotation" | "edit";
  fanOut: number[];
  toWatch: number;
  requests: Map<string, number>;
  events: number;
  reportWrites: number;
  cpuMs: number;
  fleetView: number;
}
const results: Round[] = [];

async function round(
  kind: Round["kind"],
  mark: string,
  update: () => Promise<string>,
  own: string,
  fleetLabel: string,
): Promise<void> {
  // The mark is in the files (a rotation's is its password): the output names the round instead.
  const name = `${kind} ${String(results.filter((r) => r.kind === kind).length + 1)}`;
  const e0 = await eventCount();
  const m0 = await requestCounts();
  const w0 = await sumMetric("nodecred_node_report_writes_total");
  const cpu0 = process.cpuUsage();
  seen = new Map();
  marker = mark;
  const done = new Promise<void>((resolve) => {
    allSeen = resolve;
  });
  roundStart = performance.now();
  const version = await update();
  // An event may have come before the watcher's (or after the file was written): look anyway.
  for (let i = 0; i < agents; i++) look(i);
  const timeout = sleep(60_000).then(() => "timeout");
  if ((await Promise.race([done, timeout])) === "timeout") {
    throw new Error(`${name}: ${agents - seen.size} hosts without it after 60 s`);
  }
  await allIdle();
  const cpu = process.cpuUsage(cpu0);
  const requests = diff(await requestCounts(), m0);
  subtract(requests, own, 1);
  const events = (await eventCount()) - e0;
  const reportWrites = (await sumMetric("nodecred_node_report_writes_total")) - w0;
  marker = "";
  phase(`${name}: on all hosts in ${Math.max(...seen.values()).toFixed(0)} ms`);
  results.push({
    kind,
    fanOut: [...seen.values()],
    toWatch: (seenByWatch.get(mark) ?? NaN) - roundStart,
    requests,
    events,
    reportWrites,
    cpuMs: (cpu.user + cpu.system) / 1000,
    fleetView: await reporting(fleetLabel, version),
  });
}

phase(`${rounds} rotations`);
for (let i = 1; i <= rounds; i++) {
  const password = `fleet-pw-${i}`;
  await round(
    "rotation",
    password,
    () => bench.rotate(password),
    "PUT secrets 200",
    "nodecred.io/credentials-version",
  );
}
phase(`${rounds} matchImages edits`);
for (let i = 1; i <= rounds; i++) {
  const added = `reg-${i}.fleet.test`;
  await round(
    "edit",
    added,
    () => bench.addRegistry(added, added),
    "PUT configmaps 200",
    "nodecred.io/config-version",
  );
}
for (const w of watchers) w.close();
globalThis.gc?.();
const memAfter = process.memoryUsage();

let idle: { seconds: number; requests: Map<string, number> } | null = null;
if (idleSeconds > 0) {
  phase(`idle for ${idleSeconds} s`);
  const m0 = await requestCounts();
  await sleep(idleSeconds * 1000);
  idle = { seconds: idleSeconds, requests: diff(await requestCounts(), m0) };
}
for (const w of bareWatches) w.abort();
const errors = await sumMetric("nodecred_errors_total");
phase("stopping");
await Promise.all(handles.map((h) => h.stop()));

// --- the report.
const ms = (n: number): string => n.toFixed(0).padStart(7);
const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
console.log(
  `nodecred fleet benchmark: ${agents} sync agents (in one process, each with its own ServiceAccount token, host root and status port) against kube-apiserver ${env.kube.version} and etcd of the test environment; ${rounds} rotations, ${rounds} live matchImages edits`,
);
console.log(
  `agents started and synced in ${((startedAgentsAt - started) / 1000).toFixed(1)} s from the start of the bench (tokens included)`,
);
for (const kind of ["rotation", "edit"] as const) {
  const rs = results.filter((r) => r.kind === kind);
  const what = kind === "rotation" ? "Secret update" : "matchImages edit";
  console.log(`\n${what} sent -> new content in the policy file          p50 ms  p95 ms  max ms`);
  const slowest = stats(rs.map((r) => Math.max(...r.fanOut)));
  const perHost = stats(rs.flatMap((r) => r.fanOut));
  const bare = stats(rs.map((r) => r.toWatch));
  console.log(
    `  on all ${agents} hosts (slowest host per round)            ${ms(slowest.p50)} ${ms(slowest.p95)} ${ms(slowest.max)}`,
  );
  console.log(
    `  per host (all hosts, all rounds)                      ${ms(perHost.p50)} ${ms(perHost.p95)} ${ms(perHost.max)}`,
  );
  console.log(
    `  baseline: one bare watch sees the update              ${ms(bare.p50)} ${ms(bare.p95)} ${ms(bare.max)}`,
  );
  console.log(
    `  all hosts vs bare watch: ${(slowest.p50 / bare.p50).toFixed(1)}x p50, ${(slowest.p95 / bare.p95).toFixed(1)}x p95`,
  );
  const keys = [...new Set(rs.flatMap((r) => [...r.requests.keys()]))].sort();
  console.log(
    `  API requests per ${kind} (apiserver_request_total; the bench's own update excluded), mean over ${rs.length}:`,
  );
  for (const key of keys) {
    const values = rs.map((r) => r.requests.get(key) ?? 0);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    console.log(
      `    ${key.padEnd(34)} ${mean.toFixed(1).padStart(8)}  (${(mean / agents).toFixed(3)} per node; min ${Math.min(...values)}, max ${Math.max(...values)})`,
    );
  }
  const total = rs.map((r) => [...r.requests.values()].reduce((a, b) => a + b, 0));
  const meanTotal = total.reduce((a, b) => a + b, 0) / total.length;
  console.log(
    `    ${"all".padEnd(34)} ${meanTotal.toFixed(1).padStart(8)}  (${(meanTotal / agents).toFixed(3)} per node)`,
  );
  const mean = (f: (r: Round) => number): number => rs.reduce((a, r) => a + f(r), 0) / rs.length;
  console.log(
    `  Events created per ${kind}: ${mean((r) => r.events).toFixed(1)}   node report (Lease) writes: ${mean((r) => r.reportWrites).toFixed(1)}`,
  );
  console.log(
    `  agents' CPU per ${kind}: ${mean((r) => r.cpuMs).toFixed(0)} ms in all, ${(mean((r) => r.cpuMs) / agents).toFixed(2)} ms per agent (the bench's inotify reads included)`,
  );
  console.log(
    `  fleet view after each round (Leases reporting that round's version): ${rs.map((r) => r.fleetView).join(" ")}`,
  );
}
console.log(`\nagents' memory (one process, after a full GC):`);
const per = (a: number, b: number): string =>
  `${mib(a - b)} for ${agents} agents, ${((a - b) / agents / 1024).toFixed(0)} KiB per agent`;
console.log(`  before the agents: RSS ${mib(memBefore.rss)}, heap used ${mib(memBefore.heapUsed)}`);
console.log(
  `  synced:            RSS ${mib(memSynced.rss)} (+${per(memSynced.rss, memBefore.rss)}); heap used ${mib(memSynced.heapUsed)} (+${per(memSynced.heapUsed, memBefore.heapUsed)}); heap total ${mib(memSynced.heapTotal)}`,
);
console.log(
  `  after the rounds:  RSS ${mib(memAfter.rss)} (+${per(memAfter.rss, memBefore.rss)}); heap used ${mib(memAfter.heapUsed)} (+${per(memAfter.heapUsed, memBefore.heapUsed)}); heap total ${mib(memAfter.heapTotal)}`,
);
if (idle !== null) {
  console.log(
    `\nidle for ${idle.seconds} s (nothing changed; watches renewed at the server's timeout):`,
  );
  for (const [key, n] of [...idle.requests].sort()) {
    console.log(
      `    ${key.padEnd(34)} ${String(n).padStart(8)}  (${((n / agents) * (3600 / idle.seconds)).toFixed(1)} per node per hour)`,
    );
  }
}
console.log(
  `\nagent errors (nodecred_errors_total): ${startupErrors} while starting, ${errors} in all; warnings and errors logged: ${JSON.stringify(Object.fromEntries(warnings))}`,
);
console.log(`wall time ${((performance.now() - started) / 1000).toFixed(0)} s`);
