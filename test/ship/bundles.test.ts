// The sync container's bundle (installer/sync-main.ts → dist/installer/nodecred-sync.mjs) holds
// only what `run` needs: Node evaluates every module of a bundle at start and the long-running
// process keeps them, so apply's modules (execa, the host shell, apply's orchestration) must stay
// out of its import graph. The bundle of every command keeps them.
import assert from "node:assert/strict";
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
});
