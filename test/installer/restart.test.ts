/**
 * The restart path in a real mount+PID namespace: `unshare --fork --pid --mount --mount-proc`
 * makes a stand-in init PID 1 (fixtures/stand-in-init.js, with a stand-in systemctl and a
 * stand-in kubelet: a real systemd cannot run here). The installer's
 * `nsenter --target 1 ... systemctl restart kubelet` must reach that PID 1; a kubelet that does
 * not come back must trigger the rollback (checked on disk); a second run must not restart.
 */
import assert from "node:assert/strict";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { describe, it } from "node:test";
import { inputTree, listCases } from "./golden.ts";
import {
  canUnshare,
  journalOfStep,
  runScenario as runOn,
  setKnob,
  type JournalEntry,
  type Step,
} from "./stand-in-node.ts";
import { diffSnapshots, manifestSnapshot, snapshot } from "./tree.ts";

const golden = (await listCases()).find((c) => c.name === "kubeadm-deb-double-quoted");
assert.ok(golden);

function runScenario(root: string, steps: Step[]): ReturnType<typeof runOn> {
  assert.ok(golden);
  return runOn(golden, root, steps);
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
          ["--health-timeout", "20", "--health-stable-seconds", "1"],
          ["--health-timeout", "20", "--health-stable-seconds", "1"],
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
        await setKnob(root, "reject");
        const before = await snapshot(root);
        const { results, journal } = await runScenario(root, [
          ["--health-timeout", "3", "--health-stable-seconds", "1"],
        ]);
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

    it("a kubelet that keeps exiting is given up after --health-max-exits, not the timeout", async () => {
      assert.ok(golden);
      const root = await inputTree(golden);
      try {
        await setKnob(root, "reject");
        const { results, journal } = await runScenario(root, [
          // A 10-minute timeout the scenario (2 min at most) cannot wait out: only the exit
          // count can end the wait.
          ["--health-timeout", "600", "--health-stable-seconds", "1", "--health-max-exits", "2"],
          // 0 turns the count off: the (short) timeout ends the wait although it keeps exiting.
          [
            "--retry-failed",
            "--health-timeout",
            "3",
            "--health-stable-seconds",
            "1",
            "--health-max-exits",
            "0",
          ],
        ]);
        const [counted, timed] = results;
        assert.ok(counted && timed);
        assert.equal(counted.code, 6, counted.stderr);
        // At least the 2 exits asked for: polls are 0.5 s apart and the stand-in restarts a
        // failed kubelet after 0.3 s, so a poll may see a third run already ended.
        const exits =
          /"action":"rollback","unit":"kubelet","reason":"kubelet exited (\d+) times in [\d.]+ s after the restart"/.exec(
            counted.stderr,
          );
        assert.ok(exits !== null && Number(exits[1]) >= 2, counted.stderr);
        assert.equal(counted.kubeletActiveAfter, true, "kubelet is back on the previous files");
        const firstStep = journal.slice(
          0,
          journal.findIndex((e) => e.event === "step" && e.step === 1),
        );
        const rollback = firstStep.map((e) => e.event).lastIndexOf("restart");
        assert.ok(
          firstStep.slice(0, rollback).filter((e) => e.event === "kubelet-exit" && e.code === 1)
            .length >= 2,
          "the new config was refused at least twice before the rollback",
        );
        assert.equal(timed.code, 6, timed.stderr);
        // The reason of this run's rollback (step 0's reason is quoted in the retry warning).
        assert.match(
          timed.stderr,
          /"action":"rollback","unit":"kubelet","reason":"kubelet did not come up and stay healthy [^"]* within 3 s"/,
        );
        await assert.rejects(stat(join(root, "etc/nodecred/credential-provider-config.yaml")));
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });

    it("a kubelet that answers healthz once and then crashes is not healthy: rollback", async () => {
      assert.ok(golden);
      const root = await inputTree(golden);
      try {
        // Test knob: with a provider named "nodecred" the stand-in kubelet serves one healthz
        // and exits 1; the stand-in init restarts it after 300 ms (Restart=always), so
        // `is-active` and healthz each say yes now and then.
        await setKnob(root, "crash-after-healthz");
        const { results, journal } = await runScenario(root, [
          ["--health-timeout", "4", "--health-stable-seconds", "2"],
        ]);
        const run = results[0];
        assert.ok(run);
        assert.equal(run.code, 6, `expected exit 6 (ROLLED_BACK): ${run.stderr}`);
        assert.ok(
          journal.some((e) => e.event === "auto-restart"),
          "the kubelet crashed and was restarted by init",
        );
        assert.equal(journal.filter((e) => e.event === "restart").length, 2);
        assert.equal(run.kubeletActiveAfter, true);
        await assert.rejects(stat(join(root, "etc/nodecred/credential-provider-config.yaml")));
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });

    it("a config that failed is not tried again until changed or --retry-failed", async () => {
      assert.ok(golden);
      const root = await inputTree(golden);
      const other = join(root, "..", `${basename(root)}-other-configmap.yaml`);
      try {
        const knob = await setKnob(root, "reject");
        // Same settings but another cache duration: another config hash.
        await writeFile(
          other,
          (await readFile(golden.configMap, "utf8")).replace(
            /defaultCacheDuration: .*/,
            "defaultCacheDuration: 7m",
          ),
        );
        assert.notEqual(await readFile(other, "utf8"), await readFile(golden.configMap, "utf8"));
        const flags = ["--health-timeout", "2", "--health-stable-seconds", "1"];
        const { results, journal } = await runScenario(root, [
          flags, // 0: fails, rolled back, remembered
          flags, // 1: same inputs: refused without touching systemctl
          [...flags, "--retry-failed"], // 2: tried again on request (fails again)
          { configMap: other, extra: flags }, // 3: another hash: tried as usual (fails too)
          { configMap: other, extra: flags }, // 4: now that one is remembered: refused
          { raw: ["rm", knob] }, // 5: the node's problem goes away
          { configMap: other, extra: [...flags, "--retry-failed"] }, // 6: succeeds, record cleared
          { configMap: other, extra: flags }, // 7: converged, nothing to do
        ]);
        const codes = results.map((r) => r.code);
        assert.deepEqual(codes, [6, 8, 6, 6, 8, 0, 0, 0], results.map((r) => r.stderr).join("\n"));
        const stepOf = (i: number): JournalEntry[] => journalOfStep(journal, i);
        const restarts = (i: number): number =>
          stepOf(i).filter((e) => e.event === "restart").length;
        assert.deepEqual(
          [0, 1, 2, 3, 4, 6, 7].map(restarts),
          [2, 0, 2, 2, 0, 1, 0],
          "restart + rollback restart per failed attempt, none when refused",
        );
        for (const refused of [1, 4]) {
          assert.deepEqual(
            stepOf(refused).filter((e) => e.event === "systemctl"),
            [],
            `step ${String(refused)} ran systemctl`,
          );
          const r = results[refused];
          assert.ok(r);
          assert.match(r.stderr, /"code":"CONFIG_FAILED_BEFORE"/);
          assert.match(r.stderr, /already failed on this node/);
          assert.match(r.stderr, /--retry-failed/);
        }
        const state = JSON.parse(
          await readFile(join(root, "var/lib/nodecred/state.json"), "utf8"),
        ) as { failedApply?: unknown; pendingRestart: boolean };
        assert.equal(state.failedApply, undefined, "a good apply clears the record");
        assert.equal(state.pendingRestart, false);
      } finally {
        await rm(root, { recursive: true, force: true });
        await rm(other, { force: true });
      }
    });
  },
);
