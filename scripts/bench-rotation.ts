/**
 * Day-2 latency against the real API server, as the kubelet sees it: from the moment an update
 * request is sent until the provider binary, exec'd on the node the way the kubelet execs it,
 * answers with the change:
 *   - N Secret updates: until the answer holds the new password;
 *   - N ConfigMap updates, each putting a new registry into matchImages (inside the envelope, so
 *     live): until the answer for an image of that registry holds credentials at all.
 * `nodecred-installer run` keeps the node's policy file; nothing is cached, so no kubelet restart
 * and no cache expiry are involved. Baselines measured in the same run: how long a bare
 * client-node watch takes to see the same update, and the update request's own round trip.
 * Run through scripts/bench-rotation (it starts the test environment).
 */
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { testEnv } from "../test/env/index.ts";
import { staticBinary } from "../test/provider/run-provider.ts";
import {
  adminKubeConfig,
  scratchDir,
  startSyncProcess,
  syncFlags,
  syncNode,
} from "../test/sync/cluster.ts";
import { benchNamespace, stats } from "./bench-updates.ts";

const rounds = Number(process.argv[2] ?? "60");
const ns = "bench-rotation";
const registry = "registry.bench.test";
/** One credentials key for every registry of the ConfigMap rounds: only matchImages decides. */
const wildcardKey = "*.bench.test";

const env = testEnv();
const kc = adminKubeConfig();
const bench = benchNamespace(kc, ns, registry, wildcardKey);

// As installed (a DaemonSet for the config loop to compare with); the node runs the ConfigMap's
// kubelet config.
await bench.create();
const node = syncNode(scratchDir("bench-rotation"), "node", bench.installedData);
const policy = node.policyFile;
const sync = await startSyncProcess(
  syncFlags(node, env.kube.kubeconfig, { namespace: ns, node: "bench", pod: "bench" }),
);

// Bare watches on the same objects: the floor for any watch-driven sync.
const seenByWatch = new Map<string, number>();
const watchers = await bench.watchMarkers(seenByWatch);

const binary = staticBinary();
/** The provider's answer for an image, exec'd as the kubelet execs it. */
const answer = (image: string): Record<string, { password: string }> => {
  const request = `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"${image}"}\n`;
  const r = spawnSync(binary, [`--policy=${policy}`, "--cache-duration=0s"], {
    input: request,
    encoding: "utf8",
    env: {},
  });
  if (r.status !== 0) return {};
  return (JSON.parse(r.stdout) as { auth: Record<string, { password: string }> }).auth;
};

/** Polls the provider until `done` holds; ms since t0. */
async function until(what: string, t0: number, done: () => boolean): Promise<number> {
  const deadline = t0 + 10_000;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`${what} did not reach the provider in 10 s`);
    await new Promise((r) => setTimeout(r, 1));
  }
  return performance.now() - t0;
}

// Wait for the first sync before measuring.
await until(
  "the first policy file",
  performance.now(),
  () => answer(`${registry}/app`)[registry]?.password === "pw-0",
);

interface Series {
  toProvider: number[];
  toWatch: number[];
  roundTrip: number[];
}
const secretSeries: Series = { toProvider: [], toWatch: [], roundTrip: [] };
const configSeries: Series = { toProvider: [], toWatch: [], roundTrip: [] };

for (let i = 1; i <= rounds; i++) {
  const password = `pw-${i}`;
  const t0 = performance.now();
  await bench.rotate(password);
  secretSeries.roundTrip.push(performance.now() - t0);
  secretSeries.toProvider.push(
    await until(
      `rotation ${i}`,
      t0,
      () => answer(`${registry}/app`)[registry]?.password === password,
    ),
  );
  const watched = seenByWatch.get(password);
  if (watched !== undefined) secretSeries.toWatch.push(watched - t0);
  await new Promise((r) => setTimeout(r, 20)); // let the next update stand on its own

  // A new registry, matched by the same wildcard credentials, becomes answerable.
  const added = `reg-${i}.bench.test`;
  const marker = `cm-${i}`;
  const t1 = performance.now();
  await bench.addRegistry(added, marker);
  configSeries.roundTrip.push(performance.now() - t1);
  configSeries.toProvider.push(
    await until(`matchImages ${i}`, t1, () => answer(`${added}/app`)[wildcardKey] !== undefined),
  );
  const seen = seenByWatch.get(marker);
  if (seen !== undefined) configSeries.toWatch.push(seen - t1);
  await new Promise((r) => setTimeout(r, 20));
}
for (const w of watchers) w.abort();
await sync.stop();

const fmt = (n: number): string => n.toFixed(1).padStart(8);
const line = (label: string, values: readonly number[]): string => {
  const s = stats(values);
  return `${label.padEnd(62)}${fmt(s.p50)}  ${fmt(s.p95)}  ${fmt(s.max)}`;
};
console.log(
  `nodecred day-2 benchmark: ${rounds} Secret and ${rounds} ConfigMap updates against kube-apiserver ${env.kube.version}, provider exec'd as the kubelet does`,
);
console.log(`${"".padEnd(62)}  median ms    p95 ms    max ms`);
for (const [name, series, what] of [
  ["Secret", secretSeries, "provider answers the new password"],
  ["ConfigMap", configSeries, "provider answers a newly matched image"],
] as const) {
  console.log(line(`${name} update sent -> ${what}`, series.toProvider));
  console.log(line(`  baseline: ${name} update sent -> bare watch event`, series.toWatch));
  console.log(line(`  baseline: ${name} update request round trip`, series.roundTrip));
  const p = stats(series.toProvider);
  const w = stats(series.toWatch);
  console.log(
    `  ${name}: provider vs bare watch ${(p.p50 / w.p50).toFixed(2)}x median, ${(p.p95 / w.p95).toFixed(2)}x p95; target p95 <= 1000 ms: ${p.p95 <= 1000 ? "met" : "MISSED"}`,
  );
}
