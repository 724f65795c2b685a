/**
 * What the sync container costs a node (see scripts/bench-footprint): `nodecred-installer run`
 * against the test environment's real kube-apiserver, idle and through N Secret rotations, for
 * each lever (Node/V8 flags, how the bundle is built), one variant per process:
 *   idle     RSS, anonymous RSS (RssAnon: what the container's memory limit must hold; the rest of
 *            RSS is the mapped Node executable, file pages shared by every process running it) and
 *            threads, IDLE seconds after the first policy file was written;
 *   rotations  peak RSS (VmHWM, reset before the first) and peak anonymous RSS (sampled every 5 ms)
 *            while N Secret updates each reach the policy file, and CPU (user + system) per rotation.
 * Baseline, measured in the same run: today's build (the unminified bundle esbuild made before)
 * with no flags. "one bundle" is dist/installer/nodecred-installer.mjs (every command, as the sync
 * container ran it before), "run bundle" dist/installer/nodecred-sync.mjs (`run` only, without
 * apply's modules), both of `npm run build`; the Node flags are tried on the run bundle. "manifest"
 * is the command manifests/daemonset.yaml runs (its flags and bundle). Also: what each heavy
 * dependency costs when a minified bundle imports it alone.
 * Informational, not a pass/fail test.
 * Usage: node scripts/bench-footprint.ts [ROTATIONS] [IDLE_SECONDS]   (under test/env/run.ts,
 *        after `npm run build`; scripts/bench-footprint does both)
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { CoreV1Api } from "@kubernetes/client-node";
import * as esbuild from "esbuild";
import { testEnv } from "../test/env/index.ts";
import {
  adminKubeConfig,
  createInstalledNamespace,
  dockerConfigSecret,
  syncFlags,
  syncNode,
  type SyncNode,
} from "../test/sync/cluster.ts";
import { localCommand } from "./manifest-command.ts";

const rotations = Number(process.argv[2] ?? "50");
const idleSeconds = Number(process.argv[3] ?? "15");
const repo = fileURLToPath(new URL("../", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "nodecred-bench-footprint-"));
process.on("exit", () => {
  rmSync(work, { recursive: true, force: true });
});

// ---- bundles ----

const banner =
  'import { createRequire as __nodecredCreateRequire } from "node:module"; const require = __nodecredCreateRequire(import.meta.url);';

/** installer/main.ts bundled with `options` (the shipped build's other options). */
async function bundle(name: string, options: esbuild.BuildOptions): Promise<string> {
  const outfile = join(work, `${name}.mjs`);
  await esbuild.build({
    entryPoints: [join(repo, "installer/main.ts")],
    bundle: true,
    platform: "node",
    target: "node24",
    format: "esm",
    banner: { js: banner },
    logLevel: "warning",
    outfile,
    ...options,
  });
  return outfile;
}

const manifest = localCommand(repo, "sync");
const shipped = manifest.args.find((a) => a.endsWith(".mjs")) ?? "";
const oneBundle = join(repo, "dist/installer/nodecred-installer.mjs");
const runBundle = join(repo, "dist/installer/nodecred-sync.mjs");
const shippedFlags = manifest.args.slice(0, manifest.args.indexOf(shipped));
// The build before this benchmark: no minification, licence and other comments kept as they are
// (some of them not ASCII, which makes V8 hold the whole source as a two-byte string).
const today = await bundle("today", {});
const keptNames = await bundle("minified-whitespace-syntax", {
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "none",
  charset: "ascii",
});

interface Variant {
  readonly name: string;
  readonly bundle: string;
  readonly flags: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

const allVariants: Variant[] = [
  { name: "baseline: today's bundle, no flags", bundle: today, flags: [] },
  { name: "today's bundle + the manifest's flags", bundle: today, flags: shippedFlags },
  { name: "minified (names kept), ASCII", bundle: keptNames, flags: [] },
  { name: "one bundle, minified, ASCII (every command)", bundle: oneBundle, flags: [] },
  { name: "  + --max-semi-space-size=1", bundle: oneBundle, flags: ["--max-semi-space-size=1"] },
  { name: "run bundle, minified, ASCII (run only)", bundle: runBundle, flags: [] },
  { name: "  + --max-semi-space-size=1", bundle: runBundle, flags: ["--max-semi-space-size=1"] },
  // --lite-mode (and --jitless) leave V8 without WebAssembly, which undici (Node's fetch and
  // @kubernetes/client-node's) needs to parse HTTP/1: measured for the record, not shippable.
  { name: "  + --lite-mode (no WebAssembly)", bundle: runBundle, flags: ["--lite-mode"] },
  { name: "  + --jitless (no WebAssembly)", bundle: runBundle, flags: ["--jitless"] },
  { name: "  + --no-opt", bundle: runBundle, flags: ["--no-opt"] },
  { name: "  + --optimize-for-size", bundle: runBundle, flags: ["--optimize-for-size"] },
  { name: "  + --single-threaded", bundle: runBundle, flags: ["--single-threaded"] },
  {
    name: "  + --v8-pool-size=1, UV_THREADPOOL_SIZE=1",
    bundle: runBundle,
    flags: ["--v8-pool-size=1"],
    env: { UV_THREADPOOL_SIZE: "1" },
  },
  { name: "  + --max-old-space-size=96", bundle: runBundle, flags: ["--max-old-space-size=96"] },
  {
    name: "  + --max-semi-space-size=1 --optimize-for-size",
    bundle: runBundle,
    flags: ["--max-semi-space-size=1", "--optimize-for-size"],
  },
  {
    name: "  + --max-semi-space-size=1 --lite-mode (no WebAssembly)",
    bundle: runBundle,
    flags: ["--max-semi-space-size=1", "--lite-mode"],
  },
  {
    name: "  + --max-semi-space-size=1 --no-opt",
    bundle: runBundle,
    flags: ["--max-semi-space-size=1", "--no-opt"],
  },
  {
    name: "  + --max-semi-space-size=1 --no-opt --optimize-for-size",
    bundle: runBundle,
    flags: ["--max-semi-space-size=1", "--no-opt", "--optimize-for-size"],
  },
  {
    name: `manifest: ${[...shippedFlags, basename(shipped)].join(" ")}`,
    bundle: shipped,
    flags: shippedFlags,
  },
];

/** NODECRED_BENCH_ONLY=REGEX: the baseline and the variants whose name matches (a quicker run). */
const only = process.env["NODECRED_BENCH_ONLY"];
const variants = allVariants.filter(
  (v, i) => i === 0 || only === undefined || new RegExp(only).test(v.name),
);

// ---- one variant against kube-apiserver ----

function statusKb(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(
      readFileSync(`/proc/${String(pid)}/status`, "utf8"),
    );
    return Number(m?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** User + system CPU of a process, ms (clock ticks are 10 ms on Linux). */
function cpuMs(pid: number): number {
  const fields = (readFileSync(`/proc/${String(pid)}/stat`, "utf8").split(") ")[1] ?? "").split(
    " ",
  );
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Measured {
  readonly idleRssKb: number;
  readonly idleAnonKb: number;
  readonly threads: number;
  readonly peakRssKb: number;
  readonly peakAnonKb: number;
  readonly cpuMsPerRotation: number;
  readonly msPerRotation: number;
}

const env = testEnv();
const kc = adminKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const registry = "registry.example.com";
const configData = { matchImages: `${registry}\n` };
const sleep = (ms: number): Promise<unknown> => new Promise((r) => setTimeout(r, ms));

/** The `run` process of one variant, started. */
interface Running {
  readonly pid: number;
  /** Polls until `done` holds; fails if the process exits first or after 30 s. */
  until(what: string, done: () => boolean): Promise<void>;
  stop(): Promise<void>;
}

function startVariant(v: Variant, node: SyncNode, ns: string): Running {
  const child = spawn(
    process.execPath,
    [
      ...v.flags,
      v.bundle,
      "run",
      "--listen=127.0.0.1:0",
      ...syncFlags(node, env.kube.kubeconfig, { namespace: ns, node: "bench", pod: "bench" }),
    ],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...v.env } },
  );
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-4000);
  });
  return {
    pid: child.pid ?? 0,
    until: async (what, done) => {
      const deadline = performance.now() + 30_000;
      while (!done()) {
        if (child.exitCode !== null) {
          throw new Error(`${v.name}: exited ${String(child.exitCode)}: ${stderr}`);
        }
        if (performance.now() > deadline) throw new Error(`${v.name}: ${what} timed out`);
        await sleep(2);
      }
    },
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

/** RSS, anonymous RSS and threads of an idle process. */
function idleFigures(pid: number): Pick<Measured, "idleRssKb" | "idleAnonKb" | "threads"> {
  return {
    idleRssKb: statusKb(pid, "VmRSS"),
    idleAnonKb: statusKb(pid, "RssAnon"),
    threads: statusKb(pid, "Threads"),
  };
}

/**
 * N rotations, each until the policy file holds the new password: peak RSS (VmHWM, reset first),
 * peak anonymous RSS (sampled every 5 ms), CPU and wall time per rotation.
 */
async function throughRotations(
  run: Running,
  rotate: (password: string) => Promise<unknown>,
  policyHas: (needle: string) => boolean,
): Promise<Omit<Measured, "idleRssKb" | "idleAnonKb" | "threads">> {
  const { pid } = run;
  writeFileSync(`/proc/${String(pid)}/clear_refs`, "5"); // resets VmHWM
  let peakAnonKb = 0;
  const poll = setInterval(() => {
    peakAnonKb = Math.max(peakAnonKb, statusKb(pid, "RssAnon"));
  }, 5);
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  for (let i = 1; i <= rotations; i++) {
    const password = `pw-${String(i)}`;
    await rotate(password);
    await run.until(`rotation ${String(i)}`, () => policyHas(password));
  }
  const elapsed = performance.now() - t0;
  const cpu = cpuMs(pid) - cpu0;
  clearInterval(poll);
  return {
    peakRssKb: statusKb(pid, "VmHWM"),
    peakAnonKb,
    cpuMsPerRotation: cpu / rotations,
    msPerRotation: elapsed / rotations,
  };
}

async function measure(v: Variant, index: number): Promise<Measured> {
  const ns = `bench-footprint-${String(process.pid)}-${String(index)}`;
  const secret = (password: string): ReturnType<typeof dockerConfigSecret> =>
    dockerConfigSecret("nodecred-credentials", ns, { [registry]: { username: "u", password } });
  await createInstalledNamespace(kc, ns, [secret("pw-0")], configData);
  const node = syncNode(join(work, ns), "host", configData);
  const run = startVariant(v, node, ns);
  const policyHas = (needle: string): boolean => {
    try {
      return readFileSync(node.policyFile, "utf8").includes(`"${needle}"`);
    } catch {
      return false;
    }
  };
  const rotate = (password: string): Promise<unknown> =>
    core.replaceNamespacedSecret({
      namespace: ns,
      name: "nodecred-credentials",
      body: secret(password),
    });
  try {
    await run.until("the first policy file", () => policyHas("pw-0"));
    await sleep(idleSeconds * 1000);
    const idle = idleFigures(run.pid);
    return { ...idle, ...(await throughRotations(run, rotate, policyHas)) };
  } finally {
    await run.stop();
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  }
}

// ---- what each dependency costs alone ----

const imports: [string, string][] = [
  ["node:https (floor: any API client)", ""],
  ["@kubernetes/client-node", `import * as m from "@kubernetes/client-node"; keep(m);`],
  ["pino", `import * as m from "pino"; keep(m);`],
  ["prom-client", `import * as m from "prom-client"; keep(m);`],
  ["handlebars", `import m from "handlebars"; keep(m);`],
  ["yaml", `import * as m from "yaml"; keep(m);`],
  ["execa", `import * as m from "execa"; keep(m);`],
];

/** Idle RSS and anonymous RSS of a process that imports one module (minified bundle) and waits. */
async function importCost(code: string, i: number): Promise<{ rssKb: number; anonKb: number }> {
  const outfile = join(work, `import-${String(i)}.mjs`);
  await esbuild.build({
    stdin: {
      contents: `import * as https from "node:https"; const keep = (x) => { globalThis.kept = x; }; keep(https); ${code}\nsetTimeout(() => undefined, 1e9);`,
      resolveDir: repo,
      loader: "js",
    },
    bundle: true,
    platform: "node",
    target: "node24",
    format: "esm",
    minify: true,
    legalComments: "none",
    charset: "ascii",
    banner: { js: banner },
    logLevel: "error",
    outfile,
  });
  const child = spawn(process.execPath, [outfile], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 3000));
  const pid = child.pid ?? 0;
  const r = { rssKb: statusKb(pid, "VmRSS"), anonKb: statusKb(pid, "RssAnon") };
  child.kill();
  return r;
}

// ---- run ----

const results: Measured[] = [];
for (const [i, v] of variants.entries()) results.push(await measure(v, i));
const costs: { rssKb: number; anonKb: number }[] = [];
for (const [i, [, code]] of imports.entries()) costs.push(await importCost(code, i));

const mb = (kb: number): string => (kb / 1024).toFixed(1);
const ratio = (x: number, base: number): string => `${(x / base).toFixed(2)}x`;
console.log(
  `nodecred sync footprint: node ${process.version}, ${process.arch}, kube-apiserver ${env.kube.version}; idle measured ${String(idleSeconds)} s after the first policy file, then ${String(rotations)} Secret rotations`,
);
console.log(
  `${"".padEnd(54)}${"idle RSS".padStart(9)}${"anon".padStart(7)}${"thr".padStart(5)}${"peak RSS".padStart(10)}${"anon".padStart(7)}${"CPU ms/rot".padStart(12)}${"ms/rot".padStart(8)}${"x RSS".padStart(7)}${"x anon".padStart(8)}`,
);
const base = results[0];
results.forEach((r, i) => {
  if (base === undefined) return;
  console.log(
    `${(variants[i]?.name ?? "").padEnd(54)}${mb(r.idleRssKb).padStart(9)}${mb(r.idleAnonKb).padStart(7)}${String(r.threads).padStart(5)}${mb(r.peakRssKb).padStart(10)}${mb(r.peakAnonKb).padStart(7)}${r.cpuMsPerRotation.toFixed(1).padStart(12)}${r.msPerRotation.toFixed(1).padStart(8)}${ratio(r.idleRssKb, base.idleRssKb).padStart(7)}${ratio(r.idleAnonKb, base.idleAnonKb).padStart(8)}`,
  );
});
console.log("(MiB; x RSS, x anon: idle, against the baseline)");
console.log("\nwhat a minified bundle importing one module costs, idle (MiB; node:https included)");
const floor = costs[0];
costs.forEach((c, i) => {
  if (floor === undefined) return;
  const extra =
    i === 0 ? "" : `  +${mb(c.rssKb - floor.rssKb)} RSS, +${mb(c.anonKb - floor.anonKb)} anon`;
  console.log(
    `${(imports[i]?.[0] ?? "").padEnd(40)}${mb(c.rssKb).padStart(7)} RSS${mb(c.anonKb).padStart(7)} anon${extra}`,
  );
});
