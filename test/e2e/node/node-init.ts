/**
 * STAND-IN for a node's init (systemd), for the end-to-end test only: a real systemd cannot be PID 1
 * in this sandbox. Everything else on the "node" is real: the upstream kubelet, Debian's containerd
 * and runc, the pods our DaemonSet runs.
 *
 * It runs as PID 1 of a fresh PID+mount namespace (`unshare --fork --pid --mount --mount-proc`,
 * started by node.ts; `--net` too for a node on the test bridge), so that our pod's
 * `nsenter --target 1 ... systemctl restart kubelet` (hostPID) lands here. In that mount namespace it lays overlays over the host's /etc, /var and /usr/local/bin
 * and a tmpfs over /run: the node's writes (nodecred's included) land in the run's temp dir, never on
 * the machine, and the DaemonSet's hostPath volumes see the node's files. Then it
 *  - starts containerd (not a unit here: nothing in the test restarts it; its PID is journalled so
 *    the test can prove nothing did),
 *  - runs the `kubelet` unit from /etc/systemd/system/kubelet.service + kubelet.service.d/*.conf
 *    (kubeadm's layout): Environment=, EnvironmentFile= re-read at every start, ExecStart= expanded
 *    like systemd, Restart=always after RestartSec,
 *  - answers the stand-in `systemctl` (systemctl.ts) on a unix socket: restart, start, stop,
 *    is-active, show (MainPID, ActiveState, ActiveEnterTimestampMonotonic, NRestarts), daemon-reload.
 * Fault knob (test only, step 5 of the scenario): when FAULTS/kubelet-refuses-config-containing
 * exists and the file named by the kubelet's --image-credential-provider-config contains its text,
 * the real kubelet is started with one unknown flag, so it exits at once: a kubelet that does not
 * come back after a change.
 * Network (a node with `network` in its spec, in its own network namespace): `lo` up and `eth0`
 * addressed before containerd and the kubelet start.
 * SIGTERM: stops the kubelet and containerd and exits, which ends the namespace: the kernel kills
 * what is left in it (shims, pod processes) and drops its mounts.
 *
 * usage: node-init.ts SPEC.json   (see NodeSpec in node.ts)
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { NodeSpec } from "./spec.ts";
import { expandExecStart, parseEnvironmentFile, parseUnit, type KubeletUnit } from "./unit-file.ts";

const spec = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8")) as NodeSpec;

function record(entry: Record<string, unknown>): void {
  appendFileSync(spec.journal, `${JSON.stringify({ at: Date.now(), ...entry })}\n`);
}

function mount(args: readonly string[]): void {
  execFileSync("mount", args, { stdio: ["ignore", "ignore", "inherit"] });
}

// --- the node's filesystem view ---------------------------------------------------------------
for (const target of spec.overlays) {
  const base = join(spec.work, "overlay", target.replace(/\//g, "_"));
  mkdirSync(join(base, "upper"), { recursive: true });
  mkdirSync(join(base, "work"), { recursive: true });
  mount([
    "-t",
    "overlay",
    "overlay",
    "-o",
    `lowerdir=${target},upperdir=${join(base, "upper")},workdir=${join(base, "work")}`,
    target,
  ]);
}
mount(["-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run"]);
for (const file of spec.files) {
  mkdirSync(dirname(file.path), { recursive: true });
  writeFileSync(file.path, file.content, { mode: file.mode });
}
for (const link of spec.symlinks) {
  mkdirSync(dirname(link.path), { recursive: true });
  rmSync(link.path, { force: true });
  symlinkSync(link.target, link.path);
}

// --- the node's network (only for a node with its own network namespace) ----------------------
if (spec.network !== undefined) {
  const ip = (args: readonly string[]): void => {
    execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
  };
  ip(["link", "set", "dev", "lo", "up"]);
  // node.ts moves eth0 in right after this process started.
  for (let i = 0; ; i++) {
    try {
      ip(["link", "show", "dev", "eth0"]);
      break;
    } catch (err) {
      if (i >= 300) throw err;
      await sleep(50);
    }
  }
  // Only the test's /24: no IPv6 link-local address, no default route.
  ip(["link", "set", "dev", "eth0", "addrgenmode", "none"]);
  ip(["addr", "add", spec.network.address, "dev", "eth0"]);
  ip(["link", "set", "dev", "eth0", "up"]);
  record({ event: "network-up", address: spec.network.address });
}

// --- containerd -------------------------------------------------------------------------------
const containerdLog = openSync(join(spec.work, "containerd.log"), "a");
const containerd = spawn("containerd", ["--config", spec.containerdConfig], {
  stdio: ["ignore", containerdLog, containerdLog],
});
record({ event: "containerd-start", pid: containerd.pid });
containerd.once("exit", (code, signal) => {
  record({ event: "containerd-exit", code, signal });
});

// --- the kubelet unit -------------------------------------------------------------------------
const unitDir = "/etc/systemd/system";
let unit: KubeletUnit;
function loadUnit(): void {
  const dropIns = join(unitDir, "kubelet.service.d");
  const texts = [readFileSync(join(unitDir, "kubelet.service"), "utf8")];
  if (existsSync(dropIns)) {
    for (const name of readdirSync(dropIns)
      .filter((n) => n.endsWith(".conf"))
      .sort()) {
      texts.push(readFileSync(join(dropIns, name), "utf8"));
    }
  }
  unit = parseUnit(texts);
}
loadUnit();

interface Run {
  readonly child: ChildProcess;
  readonly activeSinceUs: number;
  exited: boolean;
  stoppedByInit: boolean;
}
let current: Run | null = null;
let restarts = 0;
let pendingRestart: NodeJS.Timeout | null = null;
let shuttingDown = false;

function kubeletArgv(): string[] {
  const env = new Map(unit.environment);
  for (const file of unit.environmentFiles) {
    if (!existsSync(file.path)) {
      if (file.optional) continue;
      throw new Error(`EnvironmentFile ${file.path} is missing`);
    }
    for (const [k, v] of parseEnvironmentFile(readFileSync(file.path, "utf8"))) env.set(k, v);
  }
  const argv = expandExecStart(unit.execStart, env);
  const knob = join(spec.faults, "kubelet-refuses-config-containing");
  const configFlag = argv.find((a) => a.startsWith("--image-credential-provider-config="));
  if (existsSync(knob) && configFlag !== undefined) {
    const needle = readFileSync(knob, "utf8").trim();
    const configFile = configFlag.slice(configFlag.indexOf("=") + 1);
    if (
      needle !== "" &&
      existsSync(configFile) &&
      readFileSync(configFile, "utf8").includes(needle)
    ) {
      record({ event: "fault-injected" });
      argv.push("--nodecred-e2e-injected-fault");
    }
  }
  return argv;
}

function startKubelet(): void {
  if (pendingRestart !== null) clearTimeout(pendingRestart);
  pendingRestart = null;
  const [file, ...args] = kubeletArgv();
  if (file === undefined) throw new Error("empty ExecStart");
  const log = openSync(join(spec.work, "kubelet.log"), "a");
  const child = spawn(file, args, { stdio: ["ignore", log, log] });
  const run: Run = {
    child,
    activeSinceUs: Math.round(performance.now() * 1000),
    exited: false,
    stoppedByInit: false,
  };
  current = run;
  record({
    event: "kubelet-start",
    pid: child.pid,
    providerFlags: args.filter((a) => a.startsWith("--image-credential-provider")),
  });
  child.once("exit", (code, signal) => {
    run.exited = true;
    record({ event: "kubelet-exit", pid: child.pid, code, signal });
    if (current !== run || run.stoppedByInit || shuttingDown || !unit.restartAlways) return;
    pendingRestart = setTimeout(() => {
      pendingRestart = null;
      restarts++;
      record({ event: "kubelet-auto-restart" });
      startKubelet();
    }, unit.restartSecMs);
  });
}

async function stopKubelet(): Promise<void> {
  if (pendingRestart !== null) clearTimeout(pendingRestart);
  pendingRestart = null;
  const run = current;
  if (run === null || run.exited) return;
  run.stoppedByInit = true;
  const exited = new Promise((resolve) => run.child.once("exit", resolve));
  run.child.kill("SIGTERM");
  const done = await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)]);
  if (!done) {
    run.child.kill("SIGKILL");
    await exited;
  }
}

// --- systemctl --------------------------------------------------------------------------------
interface Reply {
  exitCode: number;
  stdout: string;
}
async function systemctl(args: readonly string[], pid1Cmdline: string): Promise<Reply> {
  const words = args.filter((a) => !a.startsWith("-"));
  const [verb, rawUnit] = words;
  if (verb === "daemon-reload") {
    loadUnit();
    return { exitCode: 0, stdout: "" };
  }
  const unitName = (rawUnit ?? "").replace(/\.service$/, "");
  if (unitName !== "kubelet") {
    return { exitCode: 5, stdout: `Unit ${rawUnit ?? ""}.service not found.` };
  }
  const active = current !== null && !current.exited;
  switch (verb) {
    case "restart":
      record({ event: "systemctl-restart", fromPid1: pid1Cmdline });
      await stopKubelet();
      restarts++;
      startKubelet();
      return { exitCode: 0, stdout: "" };
    case "start":
      if (!active) startKubelet();
      return { exitCode: 0, stdout: "" };
    case "stop":
      await stopKubelet();
      return { exitCode: 0, stdout: "" };
    case "is-active":
      return { exitCode: active ? 0 : 3, stdout: active ? "active" : "failed" };
    case "show": {
      const wanted = (args.find((a) => a.startsWith("--property=")) ?? "--property=")
        .slice("--property=".length)
        .split(",");
      const props: Record<string, string | number> = {
        MainPID: active ? (current?.child.pid ?? 0) : 0,
        ActiveState: active ? "active" : pendingRestart !== null ? "activating" : "failed",
        ActiveEnterTimestampMonotonic: current?.activeSinceUs ?? 0,
        NRestarts: restarts,
      };
      const lines = Object.entries(props)
        .filter(([k]) => wanted.includes(k) || wanted[0] === "")
        .map(([k, v]) => `${k}=${String(v)}`);
      return { exitCode: 0, stdout: lines.join("\n") };
    }
    default:
      return { exitCode: 1, stdout: `stand-in systemctl: unsupported verb ${verb ?? ""}` };
  }
}

rmSync(spec.socket, { force: true });
const server = createServer((conn) => {
  let buf = "";
  conn.on("data", (d: Buffer) => {
    buf += d.toString();
    if (!buf.includes("\n")) return;
    const req = JSON.parse(buf) as { args: string[]; pid1Cmdline: string };
    systemctl(req.args, req.pid1Cmdline).then(
      (reply) => conn.end(`${JSON.stringify(reply)}\n`),
      (err: unknown) =>
        conn.end(`${JSON.stringify({ exitCode: 1, stdout: `stand-in init: ${String(err)}` })}\n`),
    );
  });
  conn.on("error", () => undefined);
});
await new Promise<void>((resolve) => server.listen(spec.socket, resolve));
record({ event: "init-started" });
startKubelet();

async function shutdown(): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  record({ event: "init-stopping" });
  await stopKubelet();
  if (containerd.exitCode === null && containerd.signalCode === null) {
    const exited = new Promise((resolve) => containerd.once("exit", resolve));
    containerd.kill("SIGTERM");
    await Promise.race([exited, sleep(10_000)]);
  }
  server.close();
  // Exiting ends the PID namespace: the kernel kills the shims and the pods' processes.
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown());
process.on("SIGINT", () => void shutdown());
