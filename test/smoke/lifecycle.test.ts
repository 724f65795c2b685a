// The environment runner leaves nothing behind: after the tests fail, or on Ctrl-C, every server it
// started is gone (by PID), nothing listens on its ports and its temp dir is removed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import type { TestEnv } from "../env/types.ts";
import { tempDir } from "../temp-dir.ts";

const runner = join(import.meta.dirname, "..", "env", "run.ts");

function listening(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort.split(":");
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port) });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      resolve(false);
    });
  });
}

/** Every TCP endpoint the environment served. */
function endpoints(env: TestEnv): string[] {
  return [
    env.registry.plain.host,
    env.registry.tls.host,
    new URL(env.kube.server).host,
    new URL(env.kube.etcd).host,
  ];
}

/** PIDs of processes whose command line mentions the run's temp dir (its servers all do). */
function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmdline.includes(dir) && Number(entry) !== process.pid) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

async function runEnvironment(
  script: string,
  interrupt: boolean,
): Promise<{ code: number | null; env: TestEnv }> {
  const out = join(tempDir("nodecred-lifecycle-"), "env.json");
  const child = spawn(process.execPath, [runner, "--", "sh", "-c", script, "sh", out], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (interrupt) {
    for (let i = 0; i < 600 && !existsSync(out); i++) await sleep(100);
    assert.ok(existsSync(out), `environment did not start: ${stderr}`);
    // The checks that must find nothing afterwards find everything now.
    const running = JSON.parse(readFileSync(out, "utf8")) as TestEnv;
    for (const endpoint of endpoints(running)) {
      assert.equal(await listening(endpoint), true, `${endpoint} not listening`);
    }
    assert.ok(existsSync(running.containerd.socket));
    assert.ok(processesUsing(running.workDir).length >= 4);
    // Ctrl-C the runner alone (not its process group): it must stop the command itself too.
    child.kill("SIGINT");
  }
  const code = await exited;
  const env = JSON.parse(readFileSync(out, "utf8")) as TestEnv;
  return { code, env };
}

async function assertNothingLeft(env: TestEnv): Promise<void> {
  for (const endpoint of endpoints(env)) {
    assert.equal(await listening(endpoint), false, `${endpoint} still listening`);
  }
  assert.equal(existsSync(env.containerd.socket), false, "containerd socket left");
  assert.deepEqual(processesUsing(env.workDir), [], "processes of the run still alive");
  assert.equal(existsSync(env.workDir), false, "temp dir left");
}

describe("test environment lifecycle", { timeout: 120_000 }, () => {
  it("passes the command's exit code through and stops everything after a failing run", async () => {
    const { code, env } = await runEnvironment('cp "$NODECRED_TEST_ENV" "$1"; exit 3', false);
    assert.equal(code, 3);
    await assertNothingLeft(env);
  });

  it("unmounts what a test mounted under its temp dir (as a kubelet does) before removing it", async () => {
    const script =
      'cp "$NODECRED_TEST_ENV" "$1"; d=$(dirname "$NODECRED_TEST_ENV")/mnt; mkdir -p "$d/a" && mount --bind "$d/a" "$d/a" && mount -t tmpfs tmpfs "$d/a"';
    const { code, env } = await runEnvironment(script, false);
    assert.equal(code, 0);
    await assertNothingLeft(env);
    assert.ok(!readFileSync("/proc/self/mountinfo", "utf8").includes(env.workDir), "mount left");
  });

  it("stops everything on Ctrl-C, including the command", async () => {
    const { code, env } = await runEnvironment('cp "$NODECRED_TEST_ENV" "$1"; sleep 600', true);
    assert.equal(code, 130);
    await assertNothingLeft(env);
  });
});
