/**
 * Long-running test servers (registry, containerd, etcd, kube-apiserver) as child processes.
 * Each runs under `setpriv --pdeathsig KILL`, so even if the runner itself is killed with SIGKILL the
 * kernel ends them; on a normal end they are stopped by PID (SIGTERM, then SIGKILL after a grace period).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves once the process has exited. */
  readonly exited: Promise<number | null>;
  stop(graceMs?: number): Promise<void>;
  isRunning(): boolean;
}

export interface DaemonOptions {
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export function startDaemon(name: string, argv: readonly string[], opts: DaemonOptions): Daemon {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error(`daemon ${name}: empty argv`);
  const log = openSync(opts.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn("setpriv", ["--pdeathsig", "KILL", "--", cmd, ...args], {
      stdio: ["ignore", log, log],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
  } finally {
    closeSync(log);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`daemon ${name}: could not start ${cmd}`);
  let running = true;
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code, signal) => {
      running = false;
      resolve(code ?? (signal === null ? null : -1));
    });
    child.once("error", () => {
      running = false;
      resolve(null);
    });
  });
  return {
    name,
    pid,
    logFile: opts.logFile,
    exited,
    isRunning: () => running,
    async stop(graceMs = 5000): Promise<void> {
      if (!running) return;
      child.kill("SIGTERM");
      const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (!done) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
}

/** The last lines of a daemon's log, for error messages when it does not come up. */
export function logTail(daemon: Daemon, lines = 30): string {
  try {
    return readFileSync(daemon.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Polls `probe` until it returns true, the daemon exits, or the deadline passes. The error names the
 * daemon and carries its log tail, so a server that does not start explains itself.
 */
export async function waitUntil(
  daemon: Daemon,
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (!daemon.isRunning()) {
      throw new Error(`${daemon.name} exited before ${what}:\n${logTail(daemon)}`);
    }
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(100);
  }
  const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
  throw new Error(`${daemon.name}: timed out waiting for ${what}${reason}:\n${logTail(daemon)}`);
}
