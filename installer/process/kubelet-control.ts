import { execa } from "execa";
import { parseKubeletVersion, type KubeletVersion } from "../core/kubelet-version.ts";
import { InstallerError, ProcessError } from "../errors.ts";

/**
 * The only module that runs processes (the repo's only `execa` import). Everything runs in
 * the host's namespaces through `nsenter --target 1`: the installer pod has hostPID, so PID 1
 * is the host's init, and its mount namespace has the host's systemctl and kubelet binaries.
 */

const nsenter = ["nsenter", "--target", "1", "--mount", "--uts", "--ipc", "--net", "--pid", "--"];

export interface ProcessResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs argv with a timeout; never throws for a non-zero exit (callers decide). */
export async function runInHost(
  args: readonly string[],
  timeoutMs: number,
): Promise<ProcessResult> {
  const argv = [...nsenter, ...args];
  const [file, ...rest] = argv;
  try {
    const r = await execa(file ?? "nsenter", rest, {
      timeout: timeoutMs,
      reject: false,
      stdin: "ignore",
      // The kubelet's own environment is not ours to pass on; keep PATH so tools resolve.
      extendEnv: true,
    });
    if (r.timedOut) {
      throw new ProcessError(`timed out after ${timeoutMs} ms`, {
        argv,
        exitCode: null,
        stderr: r.stderr,
      });
    }
    if (r.exitCode === undefined) {
      throw new ProcessError("could not run", {
        argv,
        exitCode: null,
        stderr: r.stderr,
        cause: r.cause,
      });
    }
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    if (e instanceof ProcessError) throw e;
    throw new ProcessError("could not run", { argv, exitCode: null, stderr: "", cause: e });
  }
}

export interface KubeletControl {
  restart(unit: string): Promise<void>;
  /** Resolves true once the unit is active and healthz answers 200, false at the deadline. */
  waitHealthy(unit: string): Promise<boolean>;
}

export interface KubeletControlOptions {
  readonly healthzUrl: string;
  readonly restartTimeoutMs: number;
  readonly healthTimeoutMs: number;
  readonly pollIntervalMs: number;
}

async function healthzOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

export function systemdKubeletControl(options: KubeletControlOptions): KubeletControl {
  return {
    async restart(unit: string): Promise<void> {
      const args = ["systemctl", "restart", unit];
      const r = await runInHost(args, options.restartTimeoutMs);
      if (r.exitCode !== 0) {
        throw new ProcessError(`restarting ${unit} failed`, {
          argv: [...nsenter, ...args],
          exitCode: r.exitCode,
          stderr: r.stderr,
        });
      }
    },
    async waitHealthy(unit: string): Promise<boolean> {
      const deadline = Date.now() + options.healthTimeoutMs;
      for (;;) {
        const active = await runInHost(["systemctl", "is-active", "--quiet", unit], 10_000).then(
          (r) => r.exitCode === 0,
          () => false,
        );
        if (active && (await healthzOk(options.healthzUrl))) return true;
        if (Date.now() >= deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, options.pollIntervalMs));
      }
    },
  };
}

/** `kubelet --version` (or `k3s --version`, `rke2 --version`) run on the host. */
export async function detectKubeletVersion(command: string): Promise<KubeletVersion> {
  const args = [command, "--version"];
  const r = await runInHost(args, 30_000);
  const v = r.exitCode === 0 ? parseKubeletVersion(r.stdout) : null;
  if (v === null) {
    throw new InstallerError(
      "HOST_IO",
      `could not read the kubelet version from \`${args.join(" ")}\`; pass --kubelet-version`,
      {
        cause: new ProcessError("version query", {
          argv: args,
          exitCode: r.exitCode,
          stderr: r.stderr,
        }),
      },
    );
  }
  return v;
}
