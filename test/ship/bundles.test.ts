// The sync container's bundle (installer/sync-main.ts → dist/installer/nodecred-sync.mjs) holds
// only what `run` needs: Node evaluates every module of a bundle at start and the long-running
// process keeps them, so apply's modules (execa, the host shell, apply's orchestration) must stay
// out of its import graph. The bundle of every command keeps them. The kubectl plugin
// (installer/kubectl-main.ts → dist/kubectl-nodecred) only reads the cluster: none of either, and
// it runs on an operator's Node (22.19+), saying so on an older one.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import * as esbuild from "esbuild";

const repo = join(import.meta.dirname, "..", "..");

/** The repo-relative inputs of an entry point's bundle (as scripts/build-installer.sh bundles it). */
async function inputsOf(entry: string): Promise<string[]> {
  const r = await esbuild.build({
    entryPoints: [join(repo, entry)],
    absWorkingDir: repo,
    bundle: true,
    platform: "node",
    target: "node24",
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  return Object.keys(r.metafile.inputs);
}

/** What only apply and uninstall load. */
const applyOnly = [
  /^node_modules\/execa\//,
  /^installer\/process\/kubelet-control\.ts$/,
  /^installer\/host\/apply\.ts$/,
  /^installer\/host\/uninstall\.ts$/,
  /^installer\/cli\/commands\.ts$/,
];

describe("installer bundles", () => {
  it("keep apply's modules out of the sync container's bundle", async () => {
    const sync = await inputsOf("installer/sync-main.ts");
    assert.ok(sync.includes("installer/sync/run.ts"), "the run bundle has no sync loop");
    for (const re of applyOnly) {
      assert.deepEqual(
        sync.filter((p) => re.test(p)),
        [],
        `installer/sync-main.ts imports ${String(re)}`,
      );
    }
  });

  it("keep every command in the installer's bundle", async () => {
    const all = await inputsOf("installer/main.ts");
    for (const re of [...applyOnly, /^installer\/sync\/run\.ts$/]) {
      assert.ok(
        all.some((p) => re.test(p)),
        `installer/main.ts does not import ${String(re)}`,
      );
    }
  });

  it("keep the kubectl plugin to reading: no sync loop, no apply, no execa", async () => {
    const plugin = await inputsOf("installer/kubectl-main.ts");
    assert.ok(plugin.includes("installer/core/report/fleet-status.ts"));
    for (const re of [...applyOnly, /^installer\/sync\//, /^installer\/host\//]) {
      assert.deepEqual(
        plugin.filter((p) => re.test(p)),
        [],
        `installer/kubectl-main.ts imports ${String(re)}`,
      );
    }
  });

  it("make dist/kubectl-nodecred an executable that runs on Node 22.19+ and explains itself on Node 20", () => {
    const plugin = join(repo, "dist", "kubectl-nodecred");
    assert.ok(existsSync(plugin), "npm run build first");
    assert.ok(readFileSync(plugin, "utf8").startsWith("#!/usr/bin/env node\n"));
    assert.equal(statSync(plugin).mode & 0o111, 0o111, "executable");
    const help = spawnSync(process.execPath, [plugin, "--help"], { encoding: "utf8" });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: kubectl nodecred status/);
    // The machine's own Node (20 here): a sentence, not a stack trace from the HTTP client.
    const system = spawnSync("/usr/bin/node", ["--version"], { encoding: "utf8" });
    const major = Number(/^v(\d+)\./.exec(system.stdout)?.[1] ?? "0");
    if (system.status !== 0 || major >= 22) return;
    const old = spawnSync("/usr/bin/node", [plugin, "--help"], { encoding: "utf8" });
    assert.equal(old.status, 1);
    assert.equal(
      old.stderr,
      `kubectl nodecred: needs Node.js 22.19 or later (this is ${system.stdout.trim()})\n`,
    );
  });
});
