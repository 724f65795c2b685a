/**
 * The restart path in a real mount+PID namespace: `unshare --fork --pid --mount --mount-proc`
 * makes a stand-in init PID 1 (fixtures/stand-in-init.js, with a stand-in systemctl and a
 * stand-in kubelet: a real systemd cannot run here). The installer's
 * `nsenter --target 1 ... systemctl restart kubelet` must reach that PID 1; a kubelet that does
 * not come back must trigger the rollback (checked on disk); a second run must not restart.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { inputTree, listCases, repoRoot, standInProvider } from "./golden.ts";
import { diffSnapshots, manifestSnapshot, snapshot } from "./tree.ts";

const node = join(repoRoot, "node_modules/.bin/node");
const fixtures = join(repoRoot, "test/installer/fixtures");
const golden = (await listCases()).find((c) => c.name === "kubeadm-deb-double-quoted");
assert.ok(golden);

interface StepResult {
  code: number;
  stdout: string;
  stderr: string;
  kubeletActiveAfter: boolean;
}
interface JournalEntry {
  event: string;
  fromPid1?: string;
  code?: number;
}

const canUnshare =
  spawnSync("unshare", ["--fork", "--pid", "--mount", "--mount-proc", "true"]).status === 0;

async function runScenario(
  root: string,
  stepsArgs: string[][],
): Promise<{ results: StepResult[]; journal: JournalEntry[] }> {
  assert.ok(golden);
  const work = await mkdtemp(join(tmpdir(), "nodecred-restart-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const installer = (extra: string[]): string[] => [
    node,
    join(repoRoot, "installer/main.ts"),
    "apply",
    "--host-root",
    root,
    "--configmap",
    golden.configMap,
    "--secret",
    golden.secret,
    "--restart",
    "systemd",
    "--kubelet-version",
    "v1.31.2",
    "--provider-binary",
    standInProvider,
    "--kubelet-healthz-url",
    `http://127.0.0.1:${port}/healthz`,
    "--restart-timeout",
    "10",
    ...extra,
  ];
  await writeFile(
    join(work, "scenario.json"),
    JSON.stringify({ root, port, steps: stepsArgs.map((extra) => ({ argv: installer(extra) })) }),
  );
  const r = spawnSync(
    "unshare",
    ["--fork", "--pid", "--mount", "--mount-proc", node, join(fixtures, "stand-in-init.js"), work],
    {
      env: {
        ...process.env,
        PATH: `${join(fixtures, "bin")}:${process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`,
        NODECRED_TEST_NODE: node,
        NODECRED_TEST_INIT_SOCKET: join(work, "init.sock"),
      },
      encoding: "utf8",
      timeout: 60_000,
    },
  );
  assert.equal(r.status, 0, `stand-in init failed: ${r.stderr}`);
  const results = JSON.parse(await readFile(join(work, "results.json"), "utf8")) as StepResult[];
  const journal = (await readFile(join(work, "journal.log"), "utf8"))
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as JournalEntry);
  await rm(work, { recursive: true, force: true });
  return { results, journal };
}

describe(
  "kubelet restart through nsenter in a PID+mount namespace",
  { skip: canUnshare ? false : "unshare not permitted here" },
  () => {
    it("restarts once via PID 1, waits for health, and a second run does not restart", async () => {
      assert.ok(golden);
      const root = await inputTree(golden);
      try {
        const { results, journal } = await runScenario(root, [
          ["--health-timeout", "20"],
          ["--health-timeout", "20"],
        ]);
        const first = results[0];
        const second = results[1];
        assert.ok(first && second);
        assert.equal(first.code, 0, first.stderr);
        assert.equal(second.code, 0, second.stderr);
        const restarts = journal.filter((e) => e.event === "restart");
        assert.equal(restarts.length, 1, JSON.stringify(journal));
        // The systemctl that ran saw the stand-in init as PID 1: nsenter reached it.
        assert.match(restarts[0]?.fromPid1 ?? "", /stand-in-init\.js/);
        assert.equal((JSON.parse(first.stdout) as { restarted: boolean }).restarted, true);
        const again = JSON.parse(second.stdout) as {
          restarted: boolean;
          changed: string[];
        };
        assert.equal(again.restarted, false);
        assert.deepEqual(again.changed, []);
        assert.equal(second.kubeletActiveAfter, true);
        const state = JSON.parse(
          await readFile(join(root, "var/lib/nodecred/state.json"), "utf8"),
        ) as { pendingRestart: boolean };
        assert.equal(state.pendingRestart, false);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });

    it("a kubelet that does not come back triggers the rollback, verified on disk", async () => {
      assert.ok(golden);
      const root = await inputTree(golden);
      try {
        // Test knob: the stand-in kubelet refuses to start with a provider named "nodecred".
        await mkdir(join(root, "etc/stand-in-kubelet"));
        await writeFile(join(root, "etc/stand-in-kubelet/reject"), "nodecred\n");
        const before = await snapshot(root);
        const { results, journal } = await runScenario(root, [["--health-timeout", "3"]]);
        const run = results[0];
        assert.ok(run);
        assert.equal(
          run.code,
          6,
          `expected exit 6 (ROLLED_BACK), got ${String(run.code)}: ${run.stderr}`,
        );
        assert.match(run.stderr, /"code":"ROLLED_BACK"/);
        assert.equal(
          journal.filter((e) => e.event === "restart").length,
          2,
          "restart, then restart after rollback",
        );
        assert.ok(
          journal.some((e) => e.event === "kubelet-exit" && e.code === 1),
          "the new config was refused",
        );
        assert.equal(run.kubeletActiveAfter, true, "kubelet is back on the previous files");
        // On disk: every file the run wrote is back as it was; only nodecred's state remains.
        const after = await snapshot(root, (p) => p.startsWith("/var"));
        assert.deepEqual(diffSnapshots(before, after), []);
        await assert.rejects(stat(join(root, "etc/nodecred/credential-provider-config.yaml")));
        const input = await manifestSnapshot(
          join(golden.dir, "input"),
          await readFile(join(golden.dir, "input.modes"), "utf8"),
        );
        assert.deepEqual(
          after.get("/etc/default/kubelet")?.bytes,
          input.get("/etc/default/kubelet")?.bytes,
        );
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  },
);
