/**
 * The test environment runner: starts the real components on 127.0.0.1 and ephemeral ports, each in
 * its own directory under one temp dir, runs a command with NODECRED_TEST_ENV pointing at a JSON
 * description (see types.ts), then stops everything by PID and removes the temp dir, also on failure
 * and on Ctrl-C. Without a command it prints the description and waits for Ctrl-C (for working by hand).
 *
 *   node test/env/run.ts -- node --test test/
 *
 * Needs root and the packages/binaries of scripts/test-env/setup.sh.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startContainerd } from "./containerd.ts";
import { CriClient } from "./cri.ts";
import type { Daemon } from "./daemon.ts";
import { waitUntil } from "./daemon.ts";
import { buildTinyImage, pushImage, writeAuthFile } from "./image.ts";
import { startKube } from "./kube.ts";
import { issueCert, newCA } from "./pki.ts";
import { startRegistry } from "./registry.ts";
import type { TestEnv } from "./types.ts";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const daemons: Daemon[] = [];
let testCommand: ChildProcess | undefined;
let workDir = "";
const cleanup = { failed: false };
let stopping: Promise<void> | undefined;

function log(message: string): void {
  process.stderr.write(`test-env: ${message}\n`);
}

/**
 * The command runs in its own process group, so that whatever it leaves running (a `sleep` under a
 * shell, a stray server a test forgot) is ended with it.
 */
function killCommandGroup(): void {
  if (testCommand?.pid === undefined) return;
  try {
    process.kill(-testCommand.pid, "SIGTERM");
  } catch {
    // the group is already gone
  }
}

/**
 * Mount points under `dir` (a kubelet started by a test bind-mounts its root dir and pod volumes
 * there), deepest first, from this mount namespace's mountinfo.
 */
function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) =>
      (line.split(" ")[4] ?? "").replace(/\\(\d{3})/g, (_, o: string) =>
        String.fromCharCode(parseInt(o, 8)),
      ),
    )
    .filter((mountPoint) => mountPoint.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

function removeWorkDir(dir: string): void {
  for (const mountPoint of mountsUnder(dir)) {
    try {
      execFileSync("umount", ["--lazy", mountPoint], { stdio: "ignore" });
    } catch {
      log(`could not unmount ${mountPoint}`);
    }
  }
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    log(`could not remove ${dir}: ${err instanceof Error ? err.message : String(err)}`);
    cleanup.failed = true;
  }
}

async function stopAll(): Promise<void> {
  stopping ??= (async () => {
    killCommandGroup();
    await Promise.all(daemons.reverse().map((d) => d.stop()));
    if (workDir !== "" && process.env["NODECRED_KEEP_TEST_ENV"] !== "1") removeWorkDir(workDir);
  })();
  return stopping;
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    void stopAll().finally(() => process.exit(130));
  });
}

function kubernetesBins(): TestEnv["bins"] & { dir: string } {
  const build = (...args: string[]): string =>
    execFileSync("bash", [join(repo, "scripts/test-env/build-kubernetes.sh"), ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    }).trim();
  const dir = build();
  const next = build(join(repo, "scripts/k8s-next"), "kubelet");
  const prev = build(join(repo, "scripts/k8s-prev"), "kubelet");
  const helm = execFileSync("bash", [join(repo, "scripts/test-env/build-helm.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
  return {
    dir,
    etcd: join(dir, "etcd"),
    kubeApiserver: join(dir, "kube-apiserver"),
    kubeControllerManager: join(dir, "kube-controller-manager"),
    kubeScheduler: join(dir, "kube-scheduler"),
    kubelet: join(dir, "kubelet"),
    kubeletNext: join(next, "kubelet"),
    kubeletPrev: join(prev, "kubelet"),
    kubectl: join(dir, "kubectl"),
    helm,
  };
}

async function start(): Promise<TestEnv> {
  const started = Date.now();
  workDir = mkdtempSync(join(tmpdir(), "nodecred-test-"));
  const bins = kubernetesBins();

  const pki = join(workDir, "pki");
  const caDir = join(pki, "ca-dir");
  mkdirSync(caDir, { recursive: true });
  const ca = newCA(pki, "registry-ca");
  copyFileSync(ca.cert, join(caDir, "ca.crt"));
  const registryCert = issueCert(ca, pki, "registry", {
    commonName: "nodecred-test-registry",
    altNames: ["IP:127.0.0.1", "DNS:localhost"],
    usage: "server",
  });

  // A fresh random password per run, so that a grep of the output for it proves something.
  const username = "nodecred";
  const password = `pw-${randomBytes(12).toString("hex")}`;
  const kubePromise = startKube(workDir, bins);
  const [plain, tls] = await Promise.all([
    startRegistry({ dir: workDir, name: "plain", username, password }),
    startRegistry({
      dir: workDir,
      name: "tls",
      username,
      password,
      tls: { pair: registryCert, caFile: ca.cert, caDir },
    }),
  ]);
  daemons.push(plain.daemon, tls.daemon);

  const imageDir = join(workDir, "image");
  mkdirSync(imageDir);
  const image = { repository: "nodecred/busybox", tag: "1", source: buildTinyImage(imageDir, "1") };
  const source = image.source;
  const authFile = writeAuthFile(join(imageDir, "auth.json"), {
    [plain.env.host]: { username, password },
    [tls.env.host]: { username, password },
  });
  for (const registry of [plain.env, tls.env]) {
    pushImage(source, registry, image.repository, image.tag, authFile);
  }
  rmSync(authFile);

  const containerd = await startContainerd(workDir, [plain.env, tls.env]);
  daemons.push(containerd.daemon);
  const criProto = join(bins.dir, "cri-api.proto");
  const cri = new CriClient(criProto, containerd.socket);
  await waitUntil(containerd.daemon, "CRI Version", async () => {
    await cri.version();
    return true;
  });
  cri.close();

  const kube = await kubePromise;
  daemons.push(kube.etcd, kube.apiserver);
  const version = execFileSync(bins.kubeApiserver, ["--version"], { encoding: "utf8" }).trim();
  log(`up in ${((Date.now() - started) / 1000).toFixed(1)}s (${workDir})`);
  return {
    workDir,
    registry: { plain: plain.env, tls: tls.env },
    image,
    containerd: {
      socket: containerd.socket,
      root: containerd.root,
      certsDir: containerd.certsDir,
    },
    kube: {
      server: kube.server,
      kubeconfig: kube.kubeconfig,
      caFile: kube.caFile,
      etcd: kube.etcdUrl,
      version: version.replace(/^Kubernetes /, ""),
    },
    bins: {
      etcd: bins.etcd,
      kubeApiserver: bins.kubeApiserver,
      kubeControllerManager: bins.kubeControllerManager,
      kubeScheduler: bins.kubeScheduler,
      kubelet: bins.kubelet,
      kubeletNext: bins.kubeletNext,
      kubeletPrev: bins.kubeletPrev,
      kubectl: bins.kubectl,
      helm: bins.helm,
    },
    criProto,
  };
}

async function main(): Promise<number> {
  const sep = process.argv.indexOf("--");
  const command = sep === -1 ? [] : process.argv.slice(sep + 1);
  let env: TestEnv;
  try {
    env = await start();
  } catch (err) {
    log(`failed to start: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll();
    return 1;
  }
  const envFile = join(env.workDir, "env.json");
  writeFileSync(envFile, JSON.stringify(env, null, 2) + "\n", { mode: 0o600 });
  const [cmd, ...args] = command;
  if (cmd === undefined) {
    log(`NODECRED_TEST_ENV=${envFile}; Ctrl-C stops everything`);
    await new Promise(() => undefined);
    return 0;
  }
  const child = spawn(cmd, args, {
    stdio: "inherit",
    env: { ...process.env, NODECRED_TEST_ENV: envFile },
    detached: true,
  });
  testCommand = child;
  const code = await new Promise<number>((done) => {
    child.once("exit", (c, signal) => {
      done(c ?? (signal ? 128 : 1));
    });
    child.once("error", (err) => {
      log(`cannot run ${cmd}: ${err.message}`);
      done(127);
    });
  });
  await stopAll();
  return code;
}

const code = await main();
// Something left behind fails the run, even when the tests passed.
process.exitCode = code === 0 && cleanup.failed ? 1 : code;
