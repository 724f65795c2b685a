/**
 * Crash safety: the installer is SIGKILLed at random points of `apply` (≈200 times, on two
 * flavours, alternating between two configurations so every file keeps changing). After each
 * kill, every file must be exactly one of its known versions (never partial) and the kubelet's
 * wiring must be consistent: the flags point at a config that exists and every provider it
 * names has a complete binary in the bin dir. A final run converges; uninstall restores input.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { readProviderFlags } from "../../installer/core/node/kubelet-flags.ts";
import { inputTree, listCases, repoRoot, runInstaller, type GoldenCase } from "./golden.ts";
import { diffSnapshots, manifestSnapshot, snapshot, type Snapshot } from "./tree.ts";

const node = join(repoRoot, "node_modules/.bin/node");
const harness = join(repoRoot, "test/installer/fixtures/apply-on-go.ts");
const runsPerLane = 100;
const isTemp = (p: string): boolean => p.includes(".nodecred-tmp-");

interface Variant {
  readonly configMap: string;
  readonly secret: string;
  readonly binary: string;
}

async function makeVariants(dir: string): Promise<Variant[]> {
  const out: Variant[] = [];
  for (const [i, images] of [
    "registry-a.example.test",
    "registry-b.example.test\n*.example.test:5000",
  ].entries()) {
    const configMap = join(dir, `cm-${i}.yaml`);
    const secret = join(dir, `secret-${i}.yaml`);
    const binary = join(dir, `provider-${i}`);
    await writeFile(
      configMap,
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nodecred}\ndata:\n  matchImages: |\n${images
        .split("\n")
        .map((l) => `    ${l}`)
        .join("\n")}\n  defaultCacheDuration: ${String(i + 1)}m\n`,
    );
    const docker = JSON.stringify({
      auths: { "registry.example.test": { username: "fake", password: `FAKE-crash-${String(i)}` } },
    });
    await writeFile(
      secret,
      `apiVersion: v1\nkind: Secret\nmetadata: {name: nodecred}\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: ${Buffer.from(docker).toString("base64")}\n`,
    );
    // Large enough that a kill can land in the middle of writing it.
    await writeFile(binary, randomBytes(512 * 1024), { mode: 0o755 });
    out.push({ configMap, secret, binary });
  }
  return out;
}

function argv(c: GoldenCase, root: string, v: Variant): string[] {
  return [
    "apply",
    "--host-root",
    root,
    "--configmap",
    v.configMap,
    "--secret",
    v.secret,
    "--restart",
    "none",
    "--kubelet-version",
    c.kubeletVersion,
    "--provider-binary",
    v.binary,
  ];
}

function spawnReady(args: string[]): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(node, [harness, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("ready\n")) resolve(child);
    });
    child.on("exit", (code) => {
      reject(new Error(`harness exited early (${String(code)})`));
    });
  });
}

function waitExit(child: ChildProcessWithoutNullStreams): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else
      child.on("exit", () => {
        resolve();
      });
  });
}

/** Allowed bytes per path: the input's, and those of a completed apply of each variant. */
async function knownVersions(
  c: GoldenCase,
  variants: Variant[],
): Promise<{ input: Snapshot; versions: Map<string, Buffer[]> }> {
  const input = await manifestSnapshot(
    join(c.dir, "input"),
    await readFile(join(c.dir, "input.modes"), "utf8"),
  );
  const versions = new Map<string, Buffer[]>();
  const add = (s: Snapshot): void => {
    for (const [p, e] of s)
      if (e.bytes !== null) versions.set(p, [...(versions.get(p) ?? []), e.bytes]);
  };
  add(input);
  for (const v of variants) {
    const root = await inputTree(c);
    assert.equal((await runInstaller(argv(c, root, v))).error, null);
    add(await snapshot(root));
    await rm(root, { recursive: true, force: true });
  }
  return { input, versions };
}

async function checkConsistent(
  root: string,
  c: GoldenCase,
  versions: Map<string, Buffer[]>,
  label: string,
): Promise<void> {
  const s = await snapshot(root);
  for (const [p, e] of s) {
    if (e.type !== "f" || isTemp(p)) continue;
    // A killed run leaves its lock (the next run finds its holder gone and takes it over).
    if (p === "/var/lib/nodecred/lock" || p === "/var/lib/nodecred/lock.break") {
      const holder = JSON.parse(e.bytes?.toString() ?? "") as { pid?: unknown };
      assert.equal(typeof holder.pid, "number", `${label}: partial lock file`);
      continue;
    }
    if (p === "/var/lib/nodecred/state.json") {
      assert.doesNotThrow(
        () => JSON.parse(e.bytes?.toString() ?? ""),
        `${label}: partial state file`,
      );
      continue;
    }
    const known = versions.get(p);
    assert.ok(known !== undefined, `${label}: unexpected file ${p}`);
    assert.ok(
      known.some((b) => e.bytes?.equals(b)),
      `${label}: ${p} is neither an old nor a new version`,
    );
  }
  // Wiring: what the kubelet would read at its next start.
  let configPath: string;
  let binDir: string;
  if (c.name.startsWith("kubeadm")) {
    const flags = readProviderFlags(
      s.get("/etc/default/kubelet")?.bytes?.toString() ?? "",
      "KUBELET_EXTRA_ARGS",
    );
    if (flags.configPath === null) {
      assert.equal(flags.binDir, null, `${label}: half of our flags`);
      return;
    }
    configPath = flags.configPath;
    binDir = flags.binDir ?? "";
  } else {
    configPath = "/etc/eks/image-credential-provider/config.json";
    binDir = "/etc/eks/image-credential-provider";
  }
  const config = s.get(configPath);
  assert.ok(config?.bytes, `${label}: flags point at missing ${configPath}`);
  const parsed = parse(config.bytes.toString()) as { providers: { name: string }[] };
  for (const p of parsed.providers) {
    assert.ok(
      s.get(`${binDir}/${p.name}`)?.type === "f",
      `${label}: config names ${p.name}, not in ${binDir}`,
    );
  }
}

async function lane(c: GoldenCase): Promise<{ kills: number; completed: number }> {
  const dir = await mkdtemp(join(tmpdir(), `nodecred-crash-${c.name}-`));
  const variants = await makeVariants(dir);
  const { input, versions } = await knownVersions(c, variants);
  const root = await inputTree(c);
  let kills = 0;
  let completed = 0;
  let next: Promise<ChildProcessWithoutNullStreams> | null = null;
  try {
    // Calibrate: how long a full apply takes once loaded.
    let maxMs = 0;
    for (const v of variants) {
      const child = await spawnReady(argv(c, root, v));
      const t = performance.now();
      child.stdin.write("go\n");
      await waitExit(child);
      maxMs = Math.max(maxMs, performance.now() - t);
    }
    next = spawnReady(argv(c, root, variants[0] as Variant));
    for (let i = 0; i < runsPerLane; i++) {
      const child = await next;
      // Pre-load the following run while this one is being killed and checked.
      next = spawnReady(argv(c, root, variants[(i + 1) % variants.length] as Variant));
      const delay = Math.random() * maxMs * 1.2;
      child.stdin.write("go\n");
      await new Promise((r) => setTimeout(r, delay));
      if (child.kill("SIGKILL") && child.exitCode === null) kills++;
      else completed++;
      await waitExit(child);
      await checkConsistent(
        root,
        c,
        versions,
        `${c.name} run ${String(i)} (killed after ${delay.toFixed(1)} ms)`,
      );
    }
    (await next).kill("SIGKILL");
    next = null;
    // Converges after any crash, leaves no temp files, and uninstall restores the input.
    const last = variants[(runsPerLane - 1) % variants.length] as Variant;
    assert.equal((await runInstaller(argv(c, root, last))).error, null);
    const final = await snapshot(root);
    assert.deepEqual([...final.keys()].filter(isTemp), [], "temp files left behind");
    assert.equal(final.get("/var/lib/nodecred/lock"), undefined, "a stale lock was not taken over");
    const fresh = await inputTree(c);
    assert.equal((await runInstaller(argv(c, fresh, last))).error, null);
    assert.deepEqual(
      diffSnapshots(
        await snapshot(fresh, (p) => p.endsWith("state.json")),
        await snapshot(root, (p) => p.endsWith("state.json")),
      ),
      [],
    );
    await rm(fresh, { recursive: true, force: true });
    assert.equal(
      (await runInstaller(["uninstall", "--host-root", root, "--restart", "none"])).error,
      null,
    );
    assert.deepEqual(diffSnapshots(input, await snapshot(root)), []);
  } finally {
    // A pre-loaded harness would otherwise wait on stdin forever after a failed assertion.
    await next?.then((p) => p.kill("SIGKILL")).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
  return { kills, completed };
}

describe("crash safety under SIGKILL", () => {
  it(`${String(2 * runsPerLane)} killed applies leave only whole files and consistent wiring`, async () => {
    const cases = await listCases();
    const lanes = ["kubeadm-deb-double-quoted", "eks-al2-merge-json"].map((n) =>
      cases.find((c) => c.name === n),
    );
    const results = await Promise.all(
      lanes.map((c) => (c === undefined ? Promise.reject(new Error("case missing")) : lane(c))),
    );
    const kills = results.reduce((n, r) => n + r.kills, 0);
    // Most runs must really be killed mid-way, or the test proves nothing.
    assert.ok(
      kills >= runsPerLane,
      `only ${String(kills)} of ${String(2 * runsPerLane)} runs were killed`,
    );
  });
});
