/**
 * Moving a node from nodecred 0.1's layout (docker-config.json + `--credentials=` + the user's
 * patterns in the kubelet's config) to the live policy file (policy.json + `--policy=` + the
 * envelope), with the kubelet restarted for real by the stand-in init (stand-in-node.ts): one
 * restart, the old credentials file removed only once the kubelet no longer runs the config that
 * names it (the stand-in kubelet exits 3 when stopped if a file its running config names is
 * gone), a second apply changes nothing, a rollback leaves the 0.1 node as it was, and uninstall
 * leaves the node as it was before nodecred. The tree itself: test/golden/installer/kubeadm-rpm-from-0.1.
 */
import assert from "node:assert/strict";
import { readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { applyArgs, inputTree, listCases, runInstaller, type GoldenCase } from "./golden.ts";
import {
  canUnshare,
  installerMain,
  journalOfStep,
  nodeBin,
  runScenario,
  setKnob,
  waitForKubelet,
  type JournalEntry,
  type StepResult,
} from "./stand-in-node.ts";
import { diffSnapshots, manifestSnapshot, snapshot, type Snapshot } from "./tree.ts";

const found = (await listCases()).find((c) => c.name === "kubeadm-rpm-from-0.1");
assert.ok(found);
const c: GoldenCase = found;

const oldCredentials = "/etc/nodecred/credentials/docker-config.json";
const policyFile = "/etc/nodecred/credentials/policy.json";
const configFile = "/etc/nodecred/credential-provider-config.yaml";
const fakePassword = "FAKE-test-password-not-real";
const healthFlags = ["--health-timeout", "20", "--health-stable-seconds", "1"];

async function tree(which: "input" | "expected" | "pristine"): Promise<Snapshot> {
  return manifestSnapshot(
    join(c.dir, which),
    await readFile(join(c.dir, `${which}.modes`), "utf8"),
  );
}

interface Summary {
  readonly changed: readonly string[];
  readonly restarted: boolean;
  readonly restartPending: boolean;
}

function summary(r: StepResult | undefined): Summary {
  assert.ok(r);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Summary;
}

interface LogLine {
  readonly msg?: string;
  readonly action?: string;
  readonly path?: string;
  readonly reason?: string;
}

function logLines(stderr: string): LogLine[] {
  return stderr
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as LogLine);
}

const restarts = (j: readonly JournalEntry[]): number =>
  j.filter((e) => e.event === "restart").length;
/** Kubelets that, when stopped, found a file their running config names gone. */
const strandedKubelets = (j: readonly JournalEntry[]): JournalEntry[] =>
  j.filter((e) => e.event === "kubelet-exit" && e.code === 3);
/**
 * How the first kubelet stopped in this part of the journal ended: 0 when every file its
 * config names was still there, 3 when one was gone.
 */
const firstExit = (j: readonly JournalEntry[]): number | undefined =>
  j.find((e) => e.event === "kubelet-exit")?.code;

async function state(root: string): Promise<{
  pendingRestart: boolean;
  failedApply?: unknown;
  files: { path: string; role: string }[];
}> {
  return JSON.parse(await readFile(join(root, "var/lib/nodecred/state.json"), "utf8")) as {
    pendingRestart: boolean;
    files: { path: string; role: string }[];
  };
}

const exists = (root: string, p: string): Promise<boolean> =>
  stat(join(root, p)).then(
    () => true,
    () => false,
  );

describe("migration from nodecred 0.1's layout, as --dry-run shows it", () => {
  it("lists the 0.1 credentials file's removal after the restart it waits for", async () => {
    const root = await inputTree(c);
    const r = await runInstaller(applyArgs(c, root, ["--dry-run"]));
    assert.equal(r.error, null);
    const restart = r.stdout.indexOf("restart kubelet: ");
    const removal = r.stdout.indexOf(
      `remove ${oldCredentials} (once the kubelet runs healthy on the new config; kept while its restart is pending)`,
    );
    assert.ok(restart >= 0 && removal > restart, r.stdout);
    assert.ok(!r.stdout.includes(fakePassword));
  });
});

describe(
  "migration from nodecred 0.1's layout",
  { skip: canUnshare ? false : "unshare not permitted here" },
  () => {
    it("apply moves the node with one restart, a second apply changes nothing, uninstall leaves the node as before nodecred", async () => {
      const root = await inputTree(c);
      try {
        const { results, journal } = await runScenario(c, root, [healthFlags, healthFlags]);
        const first = summary(results[0]);
        const second = summary(results[1]);

        assert.equal(first.restarted, true);
        assert.deepEqual(
          [...first.changed].sort(),
          [configFile, oldCredentials, policyFile, "/etc/nodecred/bin/nodecred"].sort(),
        );
        assert.equal(restarts(journal), 1, JSON.stringify(journal));
        assert.equal(restarts(journalOfStep(journal, 0)), 1);
        assert.deepEqual(strandedKubelets(journal), [], "a running kubelet lost its file");
        assert.equal(firstExit(journalOfStep(journal, 0)), 0, "the 0.1 kubelet still had its file");
        // In order: the policy file and config are written, the kubelet restarts healthy on
        // them, and only then does the 0.1 credentials file go.
        const log = logLines(results[0]?.stderr ?? "");
        const at = (pred: (l: LogLine) => boolean): number => log.findIndex(pred);
        const wrotePolicy = at((l) => l.action === "create" && l.path === policyFile);
        const healthy = at((l) => l.action === "healthy");
        const removed = at((l) => l.action === "remove" && l.path === oldCredentials);
        assert.ok(
          wrotePolicy >= 0 && wrotePolicy < healthy && healthy < removed,
          JSON.stringify(log),
        );

        assert.equal(second.restarted, false);
        assert.deepEqual(second.changed, []);
        assert.equal(restarts(journalOfStep(journal, 1)), 0);
        assert.equal(results[1]?.kubeletActiveAfter, true);

        // The node: the golden result of the pending apply, minus the old file, restart done.
        const after = await snapshot(root);
        const diff = diffSnapshots(await tree("expected"), after);
        assert.equal(diff[0], `missing ${oldCredentials}`, diff.join("\n"));
        assert.match(diff[1] ?? "", /^content \/var\/lib\/nodecred\/state\.json:/);
        assert.equal(diff.length, 2, diff.join("\n"));
        assert.equal(after.get(policyFile)?.mode, 0o600);
        const config = await readFile(join(root, configFile), "utf8");
        assert.match(config, /--policy=\/etc\/nodecred\/credentials\/policy\.json/);
        assert.match(config, /- "\*\.\*\.\*\.\*\.\*\.\*\.\*:5000"/);
        assert.doesNotMatch(config, /--credentials=|registry\.example\.test/);
        const st = await state(root);
        assert.equal(st.pendingRestart, false);
        assert.deepEqual(
          st.files.filter((f) => f.role === "credentials").map((f) => f.path),
          [policyFile],
        );
        for (const r of results) {
          assert.ok(!r.stdout.includes(fakePassword) && !r.stderr.includes(fakePassword));
        }

        const u = await runInstaller(["uninstall", "--host-root", root, "--restart", "none"]);
        assert.equal(u.error, null, u.error?.message);
        assert.deepEqual(diffSnapshots(await tree("pristine"), await snapshot(root)), []);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });

    it("with --restart none the 0.1 credentials file stays while the restart is pending; the apply that restarts removes it", async () => {
      const root = await inputTree(c);
      const pendingApply = { raw: [nodeBin, installerMain, ...applyArgs(c, root)] };
      try {
        const { results, journal } = await runScenario(c, root, [
          pendingApply,
          pendingApply,
          healthFlags,
        ]);
        const pending = summary(results[0]);
        assert.equal(pending.restartPending, true);
        assert.ok(!pending.changed.includes(oldCredentials));
        assert.ok(
          logLines(results[0]?.stderr ?? "").some(
            (l) => l.action === "keep" && l.path === oldCredentials,
          ),
          "the kept file is logged",
        );
        const again = summary(results[1]);
        assert.deepEqual(again.changed, []);
        assert.equal(again.restartPending, true);
        assert.equal(restarts(journalOfStep(journal, 0)) + restarts(journalOfStep(journal, 1)), 0);

        const done = summary(results[2]);
        assert.equal(done.restarted, true);
        assert.deepEqual(done.changed, [oldCredentials]);
        assert.match(results[2]?.stderr ?? "", /did not finish its restart/);
        assert.equal(restarts(journal), 1);
        // The 0.1 kubelet, running all along, still had its file when it was restarted.
        assert.deepEqual(strandedKubelets(journal), []);
        assert.equal(firstExit(journalOfStep(journal, 2)), 0);
        assert.equal(await exists(root, oldCredentials), false);
        assert.equal((await state(root)).pendingRestart, false);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });

    it("a failed restart rolls back to the 0.1 node, docker-config.json in place; a retry once the node is fixed completes", async () => {
      const root = await inputTree(c);
      try {
        // Test knob: the stand-in kubelet refuses a provider started with --policy=.
        const knob = await setKnob(root, "reject-arg", "--policy=");
        const etc = (p: string): boolean => p.startsWith("/var") || p.startsWith("/etc/stand-in");
        const before = await snapshot(root, etc);
        const { results, journal } = await runScenario(c, root, [
          ["--health-timeout", "3", "--health-stable-seconds", "1"],
        ]);
        const failed = results[0];
        assert.ok(failed);
        assert.equal(failed.code, 6, failed.stderr);
        assert.match(failed.stderr, /"code":"ROLLED_BACK"/);
        assert.equal(restarts(journal), 2, "restart, then restart after rollback");
        assert.ok(journal.some((e) => e.event === "kubelet-exit" && e.code === 1));
        assert.equal(failed.kubeletActiveAfter, true);
        assert.deepEqual(strandedKubelets(journal), []);
        assert.ok(
          !logLines(failed.stderr).some((l) => l.action === "remove"),
          "nothing removed in a failed run",
        );
        // Every host file as 0.1 left it: its credentials file, config, flags and binary.
        assert.deepEqual(diffSnapshots(before, await snapshot(root, etc)), []);
        assert.equal(await exists(root, policyFile), false);
        const st = await state(root);
        assert.ok(st.files.some((f) => f.path === oldCredentials));
        assert.ok(st.failedApply !== undefined);

        const retry = await runScenario(c, root, [
          { raw: ["rm", knob] },
          [...healthFlags, "--retry-failed"],
        ]);
        const retried = summary(retry.results[1]);
        assert.equal(retried.restarted, true);
        assert.ok(retried.changed.includes(oldCredentials));
        assert.equal(await exists(root, oldCredentials), false);
        assert.equal(await exists(root, policyFile), true);
        assert.equal(firstExit(journalOfStep(retry.journal, 1)), 0);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });

    it("the stand-in kubelet notices a file its running config names going away (the checks above can fail)", async () => {
      const root = await inputTree(c);
      try {
        const { results, journal } = await runScenario(c, root, [
          waitForKubelet,
          { raw: ["rm", join(root, oldCredentials)] },
          { raw: ["systemctl", "restart", "kubelet"] },
        ]);
        assert.deepEqual(
          results.map((r) => r.code),
          [0, 0, 0],
        );
        assert.equal(firstExit(journalOfStep(journal, 2)), 3);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  },
);
