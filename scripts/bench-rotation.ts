/**
 * Rotation latency against the real API server: N Secret updates, each timed from the moment the
 * update request is sent until the host credentials file written by `nodecred-installer run`
 * holds the new password. Baselines measured in the same run: the update request's own round
 * trip, and how long a bare client-node watch takes to see the same update.
 * Run through scripts/bench-rotation (it starts the test environment).
 */
import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { CoreV1Api, Watch } from "@kubernetes/client-node";
import { testEnv } from "../test/env/index.ts";
import {
  adminKubeConfig,
  dockerConfigSecret,
  scratchDir,
  startSyncProcess,
} from "../test/sync/cluster.ts";

const rotations = Number(process.argv[2] ?? "60");
const ns = "bench-rotation";
const name = "nodecred-credentials";
const registry = "registry.bench.test";

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN;
}

function stats(values: readonly number[]): { median: number; p95: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    max: sorted.at(-1) ?? NaN,
  };
}

const env = testEnv();
const kc = adminKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
await core.createNamespace({ body: { metadata: { name: ns } } });
await core.createNamespacedSecret({
  namespace: ns,
  body: dockerConfigSecret(name, ns, { [registry]: { username: "u", password: "pw-0" } }),
});
const host = scratchDir("bench-rotation");
mkdirSync(join(host, "etc/nodecred/credentials"), { recursive: true, mode: 0o700 });
const file = join(host, "etc/nodecred/credentials/docker-config.json");
const sync = await startSyncProcess([
  `--kubeconfig=${env.kube.kubeconfig}`,
  `--namespace=${ns}`,
  `--host-root=${host}`,
  "--node=bench",
  "--pod=bench",
  "--kubelet-healthz-url=",
]);

// A bare watch on the same Secret: the floor for any watch-driven sync.
const seenByWatch = new Map<string, number>();
const controller = await new Watch(kc).watch(
  `/api/v1/namespaces/${ns}/secrets`,
  { fieldSelector: `metadata.name=${name}` },
  (_phase, obj: { metadata?: { annotations?: Record<string, string> } }) => {
    const marker = obj.metadata?.annotations?.["bench/marker"];
    if (marker !== undefined && !seenByWatch.has(marker))
      seenByWatch.set(marker, performance.now());
  },
  () => undefined,
);

const hasPassword = (password: string): boolean => {
  try {
    return readFileSync(file, "utf8").includes(`"${password}"`);
  } catch {
    return false;
  }
};

const toFile: number[] = [];
const toWatch: number[] = [];
const roundTrip: number[] = [];
for (let i = 1; i <= rotations; i++) {
  const password = `pw-${i}`;
  const body = dockerConfigSecret(name, ns, { [registry]: { username: "u", password } });
  const withMarker = {
    ...body,
    metadata: { ...body.metadata, annotations: { "bench/marker": password } },
  };
  const t0 = performance.now();
  await core.replaceNamespacedSecret({ namespace: ns, name, body: withMarker });
  roundTrip.push(performance.now() - t0);
  const deadline = t0 + 10_000;
  while (!hasPassword(password)) {
    if (performance.now() > deadline)
      throw new Error(`rotation ${i} did not reach the file in 10 s`);
    await new Promise((r) => setTimeout(r, 1));
  }
  toFile.push(performance.now() - t0);
  const watched = seenByWatch.get(password);
  if (watched !== undefined) toWatch.push(watched - t0);
  await new Promise((r) => setTimeout(r, 20)); // let the next update stand on its own
}
controller.abort();
await sync.stop();

const file_ = stats(toFile);
const watch = stats(toWatch);
const rtt = stats(roundTrip);
const fmt = (n: number): string => n.toFixed(1).padStart(8);
console.log(
  `nodecred rotation benchmark: ${rotations} Secret updates against kube-apiserver ${env.kube.version}`,
);
console.log(`${"".padEnd(44)}  median ms    p95 ms    max ms`);
console.log(
  `${"update sent -> host file has new password".padEnd(44)}${fmt(file_.median)}  ${fmt(file_.p95)}  ${fmt(file_.max)}`,
);
console.log(
  `${"baseline: update sent -> bare watch event".padEnd(44)}${fmt(watch.median)}  ${fmt(watch.p95)}  ${fmt(watch.max)}`,
);
console.log(
  `${"baseline: update request round trip".padEnd(44)}${fmt(rtt.median)}  ${fmt(rtt.p95)}  ${fmt(rtt.max)}`,
);
console.log(
  `sync vs bare watch: ${(file_.median / watch.median).toFixed(2)}x median, ${(file_.p95 / watch.p95).toFixed(2)}x p95; target p95 <= 1000 ms: ${file_.p95 <= 1000 ? "met" : "MISSED"}`,
);
