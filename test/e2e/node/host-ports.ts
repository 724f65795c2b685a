/**
 * A test node without a network namespace of its own (node/network.ts) shares this machine's: its
 * kubelet listens on the fixed ports of node.ts (10250, 10248) and nodecred's pods on 9847
 * (hostNetwork). Two such nodes alive at once would collide, and test files may run in parallel
 * processes, so a node holds this machine-wide lock from start to stop. The lock is a directory
 * holding the owner's PID: one left by a process that is gone (killed mid-run) is taken over, never
 * waited for.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const lockDir = join(tmpdir(), "nodecred-e2e-node-ports.lock");
const owner = join(lockDir, "pid");

/** Whether a process of this PID exists (a test's, or another user's: EPERM). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Waits for the lock (at most `timeoutMs`) and returns its release. */
export async function lockNodePorts(what: string, timeoutMs = 30 * 60_000): Promise<() => void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(owner, `${String(process.pid)}\n`);
      return () => {
        rmSync(lockDir, { recursive: true, force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let pid = Number.NaN;
    try {
      pid = Number(readFileSync(owner, "utf8").trim());
    } catch {
      // Just created, the PID not written yet: look again shortly.
    }
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) {
      rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (performance.now() > deadline) {
      throw new Error(`${what}: another test node holds ${lockDir} (PID ${String(pid)})`);
    }
    await sleep(500);
  }
}
