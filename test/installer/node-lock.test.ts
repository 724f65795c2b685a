/**
 * One apply/uninstall at a time: real processes contending for the lock on one host root.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { mkdir, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { InstallerError, exitCodeFor } from "../../installer/errors.ts";
import { hostPaths } from "../../installer/host/host-paths.ts";
import { acquireNodeLock } from "../../installer/host/node-lock.ts";
import { jsonLogger } from "../../installer/log.ts";
import { tempDir } from "../temp-dir.ts";
import { applyArgs, inputTree, listCases, repoRoot } from "./golden.ts";

const node = join(repoRoot, "node_modules/.bin/node");
const golden = (await listCases()).find((c) => c.name === "kubeadm-deb-double-quoted");
assert.ok(golden);
const lockFile = "var/lib/nodecred/lock";

/** A child whose stdout lines can be awaited one after another. */
interface Child {
  readonly proc: ChildProcessWithoutNullStreams;
  line(want: string): Promise<void>;
}

function watch(proc: ChildProcessWithoutNullStreams): Child {
  let out = "";
  const waiters: (() => void)[] = [];
  proc.stdout.on("data", (d) => {
    out += String(d);
    for (const w of waiters.splice(0)) w();
  });
  return {
    proc,
    async line(want: string): Promise<void> {
      while (!out.includes(`${want}\n`)) {
        if (proc.exitCode !== null) throw new Error(`child ended before ${want}: ${out}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
  };
}

async function holdLock(root: string): Promise<Child> {
  const child = watch(spawn(node, [join(repoRoot, "test/installer/fixtures/hold-lock.ts"), root]));
  await child.line("held");
  return child;
}

function logsInto(lines: string[]): ReturnType<typeof jsonLogger> {
  return jsonLogger((l) => lines.push(l));
}

describe("one installer at a time (node lock)", () => {
  it("an apply waits while another process holds the lock, then runs", async () => {
    assert.ok(golden);
    const root = await inputTree(golden);
    const holder = await holdLock(root);
    try {
      const apply = spawn(node, [join(repoRoot, "installer/main.ts"), ...applyArgs(golden, root)]);
      let stderr = "";
      apply.stderr.on("data", (d) => (stderr += String(d)));
      const exited = once(apply, "exit");
      // Until it says it waits (its start-up may be slow on a loaded machine), then long enough
      // for an unlocked apply of this tree to finish several times over.
      for (let i = 0; i < 600 && !stderr.includes("waiting for another installer"); i++) {
        if (apply.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(apply.exitCode, null, `apply ran while the lock was held: ${stderr}`);
      assert.match(stderr, /waiting for another installer to finish/);
      assert.match(stderr, /test-holder \(pid \d+/);
      await assert.rejects(stat(join(root, "etc/nodecred/credential-provider-config.yaml")));
      holder.proc.stdin.write("go\n");
      await holder.line("released");
      const [code] = (await exited) as [number];
      assert.equal(code, 0, stderr);
      await stat(join(root, "etc/nodecred/credential-provider-config.yaml"));
      await assert.rejects(stat(join(root, lockFile)), "the lock is released");
    } finally {
      holder.proc.kill("SIGKILL");
      await rm(root, { recursive: true, force: true });
    }
  });

  it("apply and uninstall given --lock-timeout 1 exit 9 (LOCKED) and change nothing", async () => {
    assert.ok(golden);
    const root = await inputTree(golden);
    const holder = await holdLock(root);
    // Without the flag the apply would wait the default 15 minutes: kill it after 30 s, so the
    // test fails (exit code null) instead of hanging.
    const apply = spawn(node, [
      join(repoRoot, "installer/main.ts"),
      ...applyArgs(golden, root),
      "--lock-timeout",
      "1",
    ]);
    const killer = setTimeout(() => apply.kill("SIGKILL"), 30_000);
    try {
      let stderr = "";
      apply.stderr.on("data", (d) => (stderr += String(d)));
      const [code] = (await once(apply, "exit")) as [number | null];
      assert.equal(code, 9, stderr);
      assert.match(stderr, /"code":"LOCKED"/);
      assert.match(stderr, /gave up waiting after 1 s/);
      await assert.rejects(stat(join(root, "etc/nodecred/credential-provider-config.yaml")));
      assert.ok(readFileSync(join(root, lockFile), "utf8").includes(String(holder.proc.pid)));
      // The same flag for uninstall.
      const uninstall = spawn(node, [
        join(repoRoot, "installer/main.ts"),
        "uninstall",
        "--host-root",
        root,
        "--restart",
        "none",
        "--lock-timeout",
        "1",
      ]);
      setTimeout(() => uninstall.kill("SIGKILL"), 30_000).unref();
      const [uninstallCode] = (await once(uninstall, "exit")) as [number | null];
      assert.equal(uninstallCode, 9);
    } finally {
      clearTimeout(killer);
      apply.kill("SIGKILL");
      holder.proc.kill("SIGKILL");
      await rm(root, { recursive: true, force: true });
    }
  });

  it("takes the lock while a releasing holder removes the directories it made", async () => {
    // A holder's release removes /var/lib (if it made it) just as a waiter, having made or seen
    // it, makes /var/lib/nodecred in it: the waiter must start again, not fail with ENOENT (seen
    // in CI). A worker thread plays those releases: it removes /var/lib whenever it is empty, the
    // moment the waiter has made it. Real releases are finite (one per holder), so is the worker:
    // `removals` of them, fewer than the waiter's bound on rounds (1,000) — an adversary that
    // never stops would starve any bounded retry (CI saw that with an endless mkdir/rmdir loop).
    const removals = 300;
    const root = tempDir("nodecred-lock-race-");
    await mkdir(join(root, "var"));
    const shared = new Int32Array(new SharedArrayBuffer(8)); // [stop, removals done]
    const flapper = new Worker(
      `const { rmdirSync } = require("node:fs");
       const { workerData: { dir, shared, removals } } = require("node:worker_threads");
       while (Atomics.load(shared, 0) === 0 && Atomics.load(shared, 1) < removals) {
         try { rmdirSync(dir); Atomics.add(shared, 1, 1); } catch {}
       }`,
      { eval: true, workerData: { dir: join(root, "var/lib"), shared, removals } },
    );
    const exited = once(flapper, "exit"); // it may end (removals done) before the loop does
    await once(flapper, "online");
    try {
      for (let i = 0; i < 10; i++) {
        const lock = await acquireNodeLock(hostPaths(root), {
          timeoutMs: 5000,
          command: "apply",
          log: logsInto([]),
        });
        await stat(join(root, lockFile));
        await lock.release();
      }
      // The worker did play releases (how many hit a waiter mid-walk depends on scheduling; on
      // an idle machine the first acquisition fails at once without the retry, 5 runs in 5).
      assert.ok(Atomics.load(shared, 1) > 0, "the worker never removed /var/lib");
    } finally {
      Atomics.store(shared, 0, 1);
      await exited;
    }
  });

  it("gives up after the timeout with LOCKED (exit 9), naming the holder and the file", async () => {
    assert.ok(golden);
    const root = await inputTree(golden);
    const holder = await holdLock(root);
    try {
      const err = await acquireNodeLock(hostPaths(root), {
        timeoutMs: 300,
        command: "apply",
        log: logsInto([]),
      }).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof InstallerError, String(err));
      assert.equal(err.code, "LOCKED");
      assert.equal(exitCodeFor(err), 9);
      assert.match(err.message, new RegExp(`pid ${String(holder.proc.pid)}`));
      assert.match(err.message, /\/var\/lib\/nodecred\/lock/);
      assert.ok(readFileSync(join(root, lockFile), "utf8").includes(String(holder.proc.pid)));
    } finally {
      holder.proc.kill("SIGKILL");
      await rm(root, { recursive: true, force: true });
    }
  });

  it("takes over the lock of a holder that was killed", async () => {
    assert.ok(golden);
    const root = await inputTree(golden);
    try {
      const holder = await holdLock(root);
      holder.proc.kill("SIGKILL");
      await once(holder.proc, "exit");
      await stat(join(root, lockFile)); // left behind
      const logs: string[] = [];
      const lock = await acquireNodeLock(hostPaths(root), {
        timeoutMs: 2000,
        command: "apply",
        log: logsInto(logs),
      });
      const stale = logs
        .map((l) => JSON.parse(l) as { msg?: string; reason?: string })
        .find((l) => l.msg === "removing a stale installer lock");
      assert.match(stale?.reason ?? "", /is gone/);
      await lock.release();
      await assert.rejects(stat(join(root, lockFile)));
      // Directories made only for the lock are gone again: the tree is as it was.
      await assert.rejects(stat(join(root, "var")));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("removes the .break file of a breaker killed after it removed the lock, not a live one's", async () => {
    assert.ok(golden);
    const root = await inputTree(golden);
    try {
      const ns = await readlink("/proc/self/ns/pid");
      const bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
      await mkdir(join(root, "var/lib/nodecred"), { recursive: true, mode: 0o700 });
      const breaker = (startTime: string): string =>
        JSON.stringify({
          pid: process.pid,
          pidNamespace: ns,
          bootId,
          startTime,
          command: "apply",
          since: "2026-01-01T00:00:00.000Z",
        });
      const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]?.split(" ") ?? [];
      // A live breaker (this process) is left alone...
      await writeFile(join(root, `${lockFile}.break`), breaker(fields[19] ?? ""));
      let lock = await acquireNodeLock(hostPaths(root), {
        timeoutMs: 300,
        command: "apply",
        log: logsInto([]),
      });
      await lock.release();
      await stat(join(root, `${lockFile}.break`));
      // ...a dead one's (same PID, another process start) is removed by whoever takes the lock.
      await writeFile(join(root, `${lockFile}.break`), breaker("1"));
      lock = await acquireNodeLock(hostPaths(root), {
        timeoutMs: 300,
        command: "apply",
        log: logsInto([]),
      });
      await lock.release();
      await assert.rejects(stat(join(root, `${lockFile}.break`)));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  describe("whose lock is stale", () => {
    const bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const statFields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]?.split(" ") ?? [];
    const alive = {
      pid: process.pid, // this test process: certainly running
      bootId,
      startTime: statFields[19] ?? "",
      command: "apply",
      since: "2026-01-01T00:00:00.000Z",
    };
    const cases: [string, (ns: string) => unknown, boolean][] = [
      ["a live holder", (ns) => ({ ...alive, pidNamespace: ns }), false],
      [
        "a live holder in another PID namespace (cannot tell)",
        () => ({ ...alive, pidNamespace: "pid:[1]" }),
        false,
      ],
      [
        "taken before a reboot",
        (ns) => ({ ...alive, pidNamespace: ns, bootId: "other-boot" }),
        true,
      ],
      [
        "PID reused by another process",
        (ns) => ({ ...alive, pidNamespace: ns, startTime: "1" }),
        true,
      ],
      ["not a nodecred lock", () => "garbage", true],
    ];
    for (const [name, content, stale] of cases) {
      it(`${name}: ${stale ? "taken over" : "waited for"}`, async () => {
        assert.ok(golden);
        const root = await inputTree(golden);
        try {
          const ns = await readlink("/proc/self/ns/pid");
          await mkdir(join(root, "var/lib/nodecred"), { recursive: true, mode: 0o700 });
          const text = content(ns);
          await writeFile(
            join(root, lockFile),
            typeof text === "string" ? text : JSON.stringify(text),
          );
          const got = await acquireNodeLock(hostPaths(root), {
            timeoutMs: 300,
            command: "apply",
            log: logsInto([]),
          }).then(
            async (lock) => {
              await lock.release();
              return "taken";
            },
            (e: unknown) => (e instanceof InstallerError ? e.code : String(e)),
          );
          assert.equal(got, stale ? "taken" : "LOCKED");
          if (!stale)
            assert.equal(
              await readFile(join(root, lockFile), "utf8"),
              typeof text === "string" ? text : JSON.stringify(text),
            );
        } finally {
          await rm(root, { recursive: true, force: true });
        }
      });
    }
  });
});
