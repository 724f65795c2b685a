/**
 * What the ConfigMap and Secret bounds cost at their largest (see scripts/bench-limits):
 *   (a) `nodecred-installer apply --dry-run` (the bundle the image runs) on a kubeadm node, wall
 *       time and peak RSS, with the largest ConfigMap nodecred accepts (1 MiB: 1,000 patterns of
 *       ~900 characters and a 64 KiB template) in each matching mode, and a 1 MiB Secret of
 *       thousands of registries;
 *   (b) the sync container's checks of one event, in a process of their own: the ConfigMap
 *       (checkConfigMapForRollout, which runs parseSettings) and the Secret plus the policy file
 *       it writes; the first call (cold) and the median of later ones, and the peak RSS;
 *   (c) how long refusing hostile inputs takes (a 1 MiB pattern, 100,000 patterns, loops in a
 *       template…): validation must never block the event loop for long, bad input included;
 *   (e) what the limits cost on every pull: the provider binary answering one request from the
 *       policy file each case makes (live matching runs it for every image);
 *   (d) with the test environment (scripts/bench-limits --cluster): the sync container itself,
 *       `run` as manifests/daemonset.yaml runs it (its bundle, nodecred-sync.mjs, and its Node
 *       flags) against a real kube-apiserver, its peak RSS while the Secret and the ConfigMap go
 *       from the baseline to the largest ones, each mode.
 * Baseline, measured in the same run: the shipped manifests/configmap.yaml with a one-registry
 * Secret. Informational, not a pass/fail test.
 * Usage: node scripts/bench-limits.ts [RUNS]   (default 5; after `npm run build`; (d) runs when
 *        NODECRED_TEST_ENV is set, i.e. under test/env/run.ts)
 *        node scripts/bench-limits.ts --child sync CASE_DIR RUNS   (internal: one (b) measurement)
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import {
  configMapLimits,
  parseSettings,
  type Settings,
} from "../installer/core/settings/configmap.ts";
import type { Credential } from "../provider/core/keyring.ts";
import { nextPolicy } from "../installer/core/plan/policy-file.ts";
import { defaultTemplate } from "../installer/core/kubelet/template.ts";
import { checkConfigMapForRollout } from "../installer/core/rollout/configmap-check.ts";
import { credentialsFromSecret } from "../installer/core/settings/secret.ts";
// Type only: the --child measurements, which run this file too, must not load client-node.
import type { DockerConfigSecret } from "../test/sync/cluster.ts";
import { localCommand } from "./manifest-command.ts";

/** The policy file apply would write on a node without one (policy-file.ts nextPolicy). */
function policyFileBytes(settings: Settings, credentials: readonly Credential[]): Uint8Array {
  const next = nextPolicy({
    credentials: { ok: true, value: credentials },
    settings: { ok: true, value: settings },
    current: null,
  });
  if (next.kind !== "policy") throw new Error(`no policy file: ${JSON.stringify(next)}`);
  return next.bytes;
}

const repo = fileURLToPath(new URL("../", import.meta.url));
const node = process.execPath;

interface Case {
  readonly name: string;
  readonly configMapData: Record<string, string>;
  readonly secretJson: string;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? NaN;
}

/** (b), in a child process so that its peak RSS is its own. */
function childSync(dir: string, runs: number): void {
  const data = JSON.parse(readFileSync(join(dir, "configmap-data.json"), "utf8")) as Record<
    string,
    string
  >;
  const secret = parse(readFileSync(join(dir, "secret.yaml"), "utf8")) as unknown;
  // Every run sees a changed ConfigMap (a comment line differs), as after an edit: an unchanged
  // one is answered from the last check (rollout-check.ts), measured separately.
  const changed = (i: number): Record<string, string> => ({
    ...data,
    matchImages: `${data["matchImages"] ?? ""}\n# edit ${String(i)}`,
  });
  const once = (i: number): { configMap: number; unchanged: number; secret: number } => {
    const d = changed(i);
    const t0 = performance.now();
    const checked = checkConfigMapForRollout(d);
    const t1 = performance.now();
    checkConfigMapForRollout(d);
    const t2 = performance.now();
    const credentials = credentialsFromSecret(secret);
    if (!checked.ok || !credentials.ok) {
      throw new Error(
        `refused: ${JSON.stringify(checked.ok ? null : checked.problems).slice(0, 400)} ${JSON.stringify(credentials.ok ? null : credentials.problems).slice(0, 400)}`,
      );
    }
    policyFileBytes(checked.value.settings, credentials.value);
    return { configMap: t1 - t0, unchanged: t2 - t1, secret: performance.now() - t2 };
  };
  const first = once(0);
  const later = Array.from({ length: runs }, (_, i) => once(i + 1));
  // parseSettings alone (it is part of the ConfigMap check above).
  const settings = Array.from({ length: runs }, (_, i) => {
    const d = changed(i);
    const t = performance.now();
    parseSettings(d);
    return performance.now() - t;
  });
  process.stdout.write(
    JSON.stringify({
      firstConfigMap: first.configMap,
      firstSecret: first.secret,
      configMap: median(later.map((l) => l.configMap)),
      maxConfigMap: Math.max(...later.map((l) => l.configMap)),
      unchanged: median(later.map((l) => l.unchanged)),
      secret: median(later.map((l) => l.secret)),
      parseSettings: median(settings),
    }),
  );
}

if (process.argv[2] === "--child") {
  childSync(process.argv[4] ?? "", Number(process.argv[5] ?? "5"));
  process.exit(0);
}

const runs = Number(process.argv[2] ?? "5");
const arch = process.arch === "arm64" ? "arm64" : "amd64";
const installer = join(repo, "dist/installer/nodecred-installer.mjs");
const providerBinary = join(repo, `dist/bin/nodecred-provider-linux-${arch}`);

// ---- inputs ----

const b64 = (s: string): string => Buffer.from(s).toString("base64");

/** A Docker config of about `bytes` with as many registries as fit (each with its own auth). */
function dockerConfig(bytes: number): { json: string; registries: number } {
  const entries: string[] = [];
  let size = '{"auths":{}}'.length;
  for (let i = 0; ; i++) {
    const entry = `"reg-${String(i).padStart(5, "0")}.registry.example.test":{"auth":"${b64(`robot-${String(i)}:FAKE-password-${"x".repeat(40)}-${String(i)}`)}"}`;
    if (size + entry.length + 1 > bytes) break;
    entries.push(entry);
    size += entry.length + 1;
  }
  return { json: `{"auths":{${entries.join(",")}}}`, registries: entries.length };
}

function secretYaml(json: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "nodecred-credentials", namespace: "nodecred" },
    type: "kubernetes.io/dockerconfigjson",
    data: { ".dockerconfigjson": b64(json) },
  });
}

/**
 * The largest ConfigMap: a template of configMapLimits.templateBytes (the built-in one padded
 * with a comment) and 1,000 patterns filling the rest of the 1 MiB, each a 4-segment host with a
 * port on every 10th and a %-encoded path (decoding to at most 255 characters).
 */
function largestConfigMap(matching: "live" | "kubelet"): Record<string, string> {
  const pad = configMapLimits.templateBytes - defaultTemplate.length - "# \n".length;
  const template = `${defaultTemplate}# ${"x".repeat(pad)}\n`;
  const room = configMapLimits.dataBytes - template.length - matching.length - 64;
  const perPattern = Math.floor(room / configMapLimits.matchImages) - 1;
  const patterns = Array.from({ length: configMapLimits.matchImages }, (_, i) => {
    const host = `r${String(i).padStart(4, "0")}.${"a".repeat(60)}.${"b".repeat(60)}.example.test${i % 10 === 0 ? `:${String(5000 + (i % 7))}` : ""}`;
    const path = `/${"%61".repeat(Math.min(255, Math.floor((perPattern - host.length - 1) / 3)))}`;
    return `${host}${path}`.padEnd(perPattern, "q").replace(/(q+)$/, (q) => `?${q.slice(1)}`);
  });
  return {
    matchImages: `${patterns.join("\n")}\n`,
    matching,
    credentialProviderConfigTemplate: template,
  };
}

const shipped = parse(readFileSync(join(repo, "manifests/configmap.yaml"), "utf8")) as {
  data: Record<string, string>;
};
const tinySecret = '{"auths":{"registry.example.com":{"username":"robot","password":"FAKE-pw"}}}';
const big = dockerConfig(configMapLimits.dataBytes);
const cases: Case[] = [
  {
    name: "baseline: shipped ConfigMap, 1-registry Secret",
    configMapData: shipped.data,
    secretJson: tinySecret,
  },
  {
    name: "largest, matching: live",
    configMapData: largestConfigMap("live"),
    secretJson: big.json,
  },
  {
    name: "largest, matching: kubelet",
    configMapData: largestConfigMap("kubelet"),
    secretJson: big.json,
  },
];

const work = mkdtempSync(join(tmpdir(), "nodecred-bench-limits-"));
process.on("exit", () => {
  rmSync(work, { recursive: true, force: true });
});

function caseDir(c: Case, i: number): string {
  const dir = join(work, `case-${String(i)}`);
  mkdirSync(join(dir, "host/etc/sysconfig"), { recursive: true });
  writeFileSync(join(dir, "host/etc/sysconfig/kubelet"), "KUBELET_EXTRA_ARGS=\n");
  writeFileSync(join(dir, "host/etc/os-release"), "ID=rhel\n");
  writeFileSync(
    join(dir, "configmap.yaml"),
    stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "nodecred-config", namespace: "nodecred" },
      data: c.configMapData,
    }),
  );
  writeFileSync(join(dir, "configmap-data.json"), JSON.stringify(c.configMapData));
  writeFileSync(join(dir, "secret.yaml"), secretYaml(c.secretJson));
  return dir;
}

// ---- (a) apply --dry-run ----

interface Measured {
  readonly medianMs: number;
  readonly maxMs: number;
  /** Peak RSS (the kernel's high-water mark, /usr/bin/time %M). */
  readonly rssKb: number;
  /**
   * Peak anonymous RSS, sampled every 5 ms from /proc: the memory a container limit must hold
   * (the rest of RSS is mostly node's own executable, file pages the kernel can drop).
   */
  readonly anonKb: number;
  readonly stdout: string;
}

function statusKb(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(
      readFileSync(`/proc/${String(pid)}/status`, "utf8"),
    );
    return Number(m?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** One run under /usr/bin/time, its child's anonymous RSS polled meanwhile. */
async function runOnce(
  argv: readonly string[],
): Promise<Omit<Measured, "medianMs" | "maxMs"> & { ms: number }> {
  const out = join(work, "time.out");
  const t0 = performance.now();
  const child = spawn("/usr/bin/time", ["-f", "%M", "-o", out, ...argv], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b: Buffer) => {
    if (stdout.length < 1 << 20) stdout += b.toString();
  });
  child.stderr.on("data", (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-4000);
  });
  let anon = 0;
  const poll = setInterval(() => {
    const pid = child.pid ?? 0;
    let kids: string[] = [];
    try {
      kids = readFileSync(`/proc/${String(pid)}/task/${String(pid)}/children`, "utf8")
        .trim()
        .split(/\s+/);
    } catch {
      // already gone
    }
    for (const k of kids) if (k !== "") anon = Math.max(anon, statusKb(Number(k), "RssAnon"));
  }, 5);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  const wallMs = performance.now() - t0;
  clearInterval(poll);
  if (code !== 0) {
    throw new Error(`${argv.slice(1, 4).join(" ")} exited ${String(code)}: ${stderr.slice(-1500)}`);
  }
  const kb = Number(readFileSync(out, "utf8").trim().split(/\s+/).pop());
  return { ms: wallMs, rssKb: kb, anonKb: anon, stdout };
}

async function timed(argv: readonly string[], times: number): Promise<Measured> {
  const all = [];
  for (let i = 0; i < times; i++) all.push(await runOnce(argv));
  const walls = all.map((r) => r.ms);
  return {
    medianMs: median(walls),
    maxMs: Math.max(...walls),
    rssKb: Math.max(...all.map((r) => r.rssKb)),
    anonKb: Math.max(...all.map((r) => r.anonKb)),
    stdout: all[0]?.stdout ?? "",
  };
}

function applyDryRun(dir: string): Promise<Measured> {
  return timed(
    [
      node,
      installer,
      "apply",
      "--dry-run",
      `--host-root=${join(dir, "host")}`,
      `--configmap=${join(dir, "configmap.yaml")}`,
      `--secret=${join(dir, "secret.yaml")}`,
      "--flavour=kubeadm-rpm",
      "--kubelet-version=v1.34.0",
      `--provider-binary=${providerBinary}`,
    ],
    runs,
  );
}

// ---- (b) sync checks ----

interface SyncMeasured {
  readonly firstConfigMap: number;
  readonly firstSecret: number;
  readonly configMap: number;
  readonly maxConfigMap: number;
  readonly unchanged: number;
  readonly secret: number;
  readonly parseSettings: number;
  readonly rssKb: number;
  readonly anonKb: number;
}

async function syncChecks(dir: string): Promise<SyncMeasured> {
  const r = await timed(
    [node, fileURLToPath(import.meta.url), "--child", "sync", dir, String(Math.max(runs, 5))],
    1,
  );
  return {
    ...(JSON.parse(r.stdout) as Omit<SyncMeasured, "rssKb" | "anonKb">),
    rssKb: r.rssKb,
    anonKb: r.anonKb,
  };
}

// ---- (c) refusals ----

function refusalTimes(): [string, number, string][] {
  const matchImagesOf = (n: number, f: (i: number) => string): string =>
    Array.from({ length: n }, (_, i) => f(i)).join("\n");
  const loops = `${defaultTemplate}{{#each matchImages}}{{#each @root.matchImages}}{{#each @root.matchImages}}#{{/each}}{{/each}}{{/each}}`;
  const hostile: [string, Record<string, string>][] = [
    ["one pattern of 1 MiB", { matchImages: "a".repeat(configMapLimits.dataBytes - 16) }],
    ["100,000 short patterns", { matchImages: matchImagesOf(100_000, (i) => `r${String(i)}.io`) }],
    [
      "1,000 patterns, none can match (256-char paths)",
      { matchImages: matchImagesOf(1000, (i) => `r${String(i)}.io/${"p".repeat(256)}`) },
    ],
    [
      "a loop in a loop in a loop (1,000 patterns)",
      {
        matchImages: matchImagesOf(1000, (i) => `r${String(i)}.example.test/${"p".repeat(200)}`),
        matching: "kubelet",
        credentialProviderConfigTemplate: loops,
      },
    ],
    [
      "{{json matchImages}} x 250 (1,000 patterns)",
      {
        matchImages: matchImagesOf(1000, (i) => `r${String(i)}.example.test/${"p".repeat(200)}`),
        matching: "kubelet",
        credentialProviderConfigTemplate: `${defaultTemplate}${"# {{json matchImages}}\n".repeat(249)}`,
      },
    ],
    [
      "a template of 13,000 {{tags}} (64 KiB)",
      { matchImages: "r.io", credentialProviderConfigTemplate: "{{a}}".repeat(13_000) },
    ],
    [
      "an inline partial calling itself",
      {
        matchImages: "r.io",
        credentialProviderConfigTemplate: `{{#*inline "a"}}{{> a}}{{> a}}{{/inline}}{{> a}}`,
      },
    ],
    [
      "data over 1 MiB",
      {
        matchImages: "r.io",
        credentialProviderConfigTemplate: "#".repeat(configMapLimits.dataBytes),
      },
    ],
  ];
  return hostile.map(([name, data]) => {
    const t = performance.now();
    const r = checkConfigMapForRollout(data);
    const ms = performance.now() - t;
    const first = r.ok
      ? "ACCEPTED"
      : `${r.problems[0]?.path ?? ""}: ${r.problems[0]?.message ?? ""}`;
    return [name, ms, first.length > 90 ? `${first.slice(0, 90)}…` : first];
  });
}

// ---- (d) the sync container, against the test environment's kube-apiserver ----

interface SyncPhase {
  readonly name: string;
  /** Peak RSS since the process started (VmHWM) when the phase ended, and peak anonymous RSS in the phase. */
  readonly hwmKb: number;
  readonly anonKb: number;
  /** From the update request to the policy file holding the new content. */
  readonly ms: number;
}

/** `run` of the sync container, started, its peak anonymous RSS sampled every 5 ms. */
interface SyncRun {
  readonly pid: number;
  readonly exitCode: () => number | null;
  /** The peak anonymous RSS since the last call (kB), and a new peak from now on. */
  readonly takeAnonPeak: () => number;
  readonly stop: () => void;
}

/** `run` as manifests/daemonset.yaml runs it: its Node flags and bundle (nodecred-sync.mjs). */
function startManifestSync(flags: readonly string[]): SyncRun {
  const sync = localCommand(repo, "sync");
  const child = spawn(sync.node, [...sync.args, "--listen=127.0.0.1:0", ...flags], {
    stdio: ["ignore", "ignore", "ignore"],
  });
  const pid = child.pid ?? 0;
  let anon = 0;
  const poll = setInterval(() => {
    anon = Math.max(anon, statusKb(pid, "RssAnon"));
  }, 5);
  return {
    pid,
    exitCode: () => child.exitCode,
    takeAnonPeak: () => {
      const peak = anon;
      anon = 0;
      return peak;
    },
    stop: () => {
      clearInterval(poll);
      child.kill("SIGTERM");
    },
  };
}

/**
 * One phase of (d): `update`, then until the policy file holds every needle, then 3 s for what
 * follows the write (events, the rollout).
 */
async function syncPhase(
  sync: SyncRun,
  policyFile: string,
  name: string,
  update: () => Promise<unknown>,
  needles: readonly string[],
): Promise<SyncPhase> {
  const policyHas = (needle: string): boolean => {
    try {
      return readFileSync(policyFile, "utf8").includes(needle);
    } catch {
      return false;
    }
  };
  sync.takeAnonPeak();
  const t0 = performance.now();
  await update();
  const deadline = t0 + 120_000;
  while (!needles.every(policyHas)) {
    const code = sync.exitCode();
    if (code !== null) throw new Error(`the sync process exited ${String(code)}`);
    if (performance.now() > deadline) throw new Error(`${name}: the policy file did not change`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 3000));
  return { name, hwmKb: statusKb(sync.pid, "VmHWM"), anonKb: sync.takeAnonPeak(), ms };
}

async function syncProcess(): Promise<SyncPhase[]> {
  // Loaded here only: the --child measurements run this file too, without them.
  const { CoreV1Api } = await import("@kubernetes/client-node");
  const { testEnv } = await import("../test/env/index.ts");
  const cluster = await import("../test/sync/cluster.ts");
  const kc = cluster.adminKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const ns = `bench-limits-${String(process.pid)}`;
  const secretBody = (json: string): DockerConfigSecret =>
    cluster.dockerConfigJsonSecret("nodecred-credentials", ns, json);
  const base = cases[0];
  if (base === undefined) throw new Error("no baseline");
  await cluster.createInstalledNamespace(kc, ns, [secretBody(base.secretJson)], base.configMapData);
  const node = cluster.syncNode(work, "sync-host", base.configMapData);
  const sync = startManifestSync(
    cluster.syncFlags(node, testEnv().kube.kubeconfig, {
      namespace: ns,
      node: "bench",
      pod: "bench",
    }),
  );
  const phase = (name: string, update: () => Promise<unknown>, needles: readonly string[]) =>
    syncPhase(sync, node.policyFile, name, update, needles);
  const phases: SyncPhase[] = [];
  try {
    phases.push(await phase("baseline objects", () => Promise.resolve(), ["registry.example.com"]));
    const lastRegistry = `reg-${String(big.registries - 1).padStart(5, "0")}`;
    for (const c of cases.slice(1)) {
      const firstPattern = (c.configMapData["matchImages"] ?? "").split("\n")[0] ?? "";
      const update = async (): Promise<void> => {
        await core.replaceNamespacedSecret({
          namespace: ns,
          name: "nodecred-credentials",
          body: secretBody(c.secretJson),
        });
        await core.replaceNamespacedConfigMap({
          namespace: ns,
          name: "nodecred-config",
          body: { metadata: { name: "nodecred-config", namespace: ns }, data: c.configMapData },
        });
      };
      phases.push(
        await phase(`-> ${c.name}`, update, [
          lastRegistry,
          JSON.stringify(firstPattern).slice(1, 60),
        ]),
      );
    }
  } finally {
    sync.stop();
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  }
  return phases;
}

// ---- (e) the provider on one pull ----

async function providerPull(c: Case, i: number): Promise<Measured> {
  const settings = parseSettings(c.configMapData);
  const credentials = credentialsFromSecret(
    parse(readFileSync(join(work, `case-${String(i)}`, "secret.yaml"), "utf8")) as unknown,
  );
  if (!settings.ok || !credentials.ok) throw new Error(`${c.name}: refused`);
  const policy = join(work, `policy-${String(i)}.json`);
  writeFileSync(policy, policyFileBytes(settings.value, credentials.value));
  const request = join(work, "request.json");
  writeFileSync(
    request,
    '{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"docker.io/library/nginx"}\n',
  );
  return timed(
    ["/bin/sh", "-c", `"$0" --policy="$1" <"$2"`, providerBinary, policy, request],
    runs,
  );
}

// ---- run ----

const dirs = cases.map(caseDir);
const applied: Measured[] = [];
for (const d of dirs) applied.push(await applyDryRun(d));
const synced: SyncMeasured[] = [];
for (const d of dirs) synced.push(await syncChecks(d));
const refused = refusalTimes();
const pulls: Measured[] = [];
for (const [i, c] of cases.entries()) pulls.push(await providerPull(c, i));
const withCluster = (process.env["NODECRED_TEST_ENV"] ?? "") !== "";
const clusterPhases = withCluster ? await syncProcess() : [];

const mb = (kb: number): string => (kb / 1024).toFixed(1);
const ms = (x: number): string => x.toFixed(1);
const largestData = cases.map((c) =>
  Object.values(c.configMapData).reduce((n, v) => n + Buffer.byteLength(v), 0),
);
console.log(
  `nodecred limits benchmark: ${String(runs)} runs each, node ${process.version}, ${process.arch}, ${String(
    (await import("node:os")).cpus().length,
  )} CPUs`,
);
console.log(
  `largest ConfigMap: ${String(largestData[1])} bytes of data (limit ${String(configMapLimits.dataBytes)}), ${String(configMapLimits.matchImages)} patterns, template ${String(configMapLimits.templateBytes)} bytes; largest Secret: ${String(big.json.length)}-byte .dockerconfigjson, ${String(big.registries)} registries`,
);
console.log("\n(a) nodecred-installer apply --dry-run (bundle, kubeadm-rpm node)");
console.log(
  `${"".padEnd(50)}${"median ms".padStart(10)}${"max ms".padStart(9)}${"peak RSS MB".padStart(13)}${"anon MB".padStart(9)}${"x time".padStart(8)}${"x RSS".padStart(7)}`,
);
applied.forEach((a, i) => {
  const base = applied[0] ?? a;
  console.log(
    `${(cases[i]?.name ?? "").padEnd(50)}${ms(a.medianMs).padStart(10)}${ms(a.maxMs).padStart(9)}${mb(a.rssKb).padStart(13)}${mb(a.anonKb).padStart(9)}${(a.medianMs / base.medianMs).toFixed(2).padStart(8)}${(a.rssKb / base.rssKb).toFixed(2).padStart(7)}`,
  );
});
console.log(
  "\n(b) sync checks of one event, ms: the ConfigMap after an edit (checkConfigMapForRollout, incl. parseSettings),",
);
console.log("    unchanged (answered from the last check), the Secret + the policy file it writes");
console.log(
  `${"".padEnd(50)}${"CM first".padStart(9)}${"CM med".padStart(8)}${"CM max".padStart(8)}${"parseSet".padStart(9)}${"unchgd".padStart(8)}${"Sec first".padStart(10)}${"Sec med".padStart(8)}${"RSS MB".padStart(8)}${"anon".padStart(7)}`,
);
synced.forEach((s, i) => {
  console.log(
    `${(cases[i]?.name ?? "").padEnd(50)}${ms(s.firstConfigMap).padStart(9)}${ms(s.configMap).padStart(8)}${ms(s.maxConfigMap).padStart(8)}${ms(s.parseSettings).padStart(9)}${ms(s.unchanged).padStart(8)}${ms(s.firstSecret).padStart(10)}${ms(s.secret).padStart(8)}${mb(s.rssKb).padStart(8)}${mb(s.anonKb).padStart(7)}`,
  );
});
const sb = synced[0];
if (sb !== undefined) {
  for (const [i, s] of synced.entries()) {
    if (i === 0) continue;
    console.log(
      `  ${cases[i]?.name ?? ""} vs baseline: ConfigMap check ${(s.configMap / sb.configMap).toFixed(0)}x (${ms(s.configMap)} ms), Secret ${(s.secret / sb.secret).toFixed(0)}x, RSS ${(s.rssKb / sb.rssKb).toFixed(2)}x`,
    );
  }
}
console.log("\n(c) refusing hostile ConfigMaps (checkConfigMapForRollout, in this process)");
for (const [name, t, first] of refused) {
  console.log(`${name.padEnd(50)}${ms(t).padStart(9)} ms  ${first}`);
}
console.log(
  "\n(e) the provider binary answering one pull (an image no pattern matches) from each case's policy file",
);
console.log(
  `${"".padEnd(50)}${"median ms".padStart(10)}${"max ms".padStart(9)}${"peak RSS MB".padStart(13)}`,
);
pulls.forEach((p, i) => {
  console.log(
    `${(cases[i]?.name ?? "").padEnd(50)}${ms(p.medianMs).padStart(10)}${ms(p.maxMs).padStart(9)}${mb(p.rssKb).padStart(13)}`,
  );
});
if (withCluster) {
  console.log("\n(d) the sync container: `run` (nodecred-sync.mjs) against kube-apiserver");
  console.log(
    `${"".padEnd(50)}${"to policy ms".padStart(13)}${"peak RSS MB".padStart(13)}${"anon MB".padStart(9)}`,
  );
  for (const p of clusterPhases) {
    console.log(
      `${p.name.padEnd(50)}${ms(p.ms).padStart(13)}${mb(p.hwmKb).padStart(13)}${mb(p.anonKb).padStart(9)}`,
    );
  }
} else {
  console.log(
    "\n(d) skipped: run scripts/bench-limits --cluster to measure the sync container itself",
  );
}
console.log(
  `\npeak RSS (anonymous) of apply with the largest input: ${mb(Math.max(...applied.map((a) => a.rssKb)))} MB (${mb(Math.max(...applied.map((a) => a.anonKb)))} MB); of the sync checks: ${mb(Math.max(...synced.map((s) => s.rssKb)))} MB (${mb(Math.max(...synced.map((s) => s.anonKb)))} MB)`,
);
