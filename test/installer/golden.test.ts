import assert from "node:assert/strict";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { applyArgs, inputTree, listCases, runInstaller } from "./golden.ts";
import { diffSnapshots, manifestSnapshot, snapshot } from "./tree.ts";

const fakePassword = "FAKE-test-password-not-real";
const fakeUser = "fake-user";
const cases = await listCases();

async function expectedOf(
  dir: string,
  which: "input" | "expected" | "pristine",
): Promise<ReturnType<typeof manifestSnapshot>> {
  return manifestSnapshot(join(dir, which), await readFile(join(dir, `${which}.modes`), "utf8"));
}

describe("golden host trees", () => {
  it("has the named cases: the flavours, both quoting styles, a missing file, a refused host, a provider name taken in a shared bin dir, an upgrade, credential sets", () => {
    const names = cases.map((c) => c.name);
    for (const n of [
      "kubeadm-deb-double-quoted",
      "kubeadm-rpm-single-quoted-duplicates",
      "kubeadm-deb-missing-file",
      "eks-al2-merge-json",
      "aks-merge-yaml",
      "k3s-agent",
      "bottlerocket-refused",
      "kubeadm-rpm-from-0.1",
      "kubeadm-rpm-credential-sets",
      "eks-al2023-nodeadm",
      "gke-cos-merge-yaml",
      "gke-provider-name-taken-refused",
      "rke2-agent-rpm",
    ]) {
      assert.ok(names.includes(n), `missing golden case ${n}`);
    }
  });

  for (const c of cases) {
    describe(c.name, () => {
      it("apply produces the expected tree, byte for byte and mode for mode", async () => {
        const root = await inputTree(c);
        try {
          const r = await runInstaller(applyArgs(c, root));
          assert.equal(r.error?.code ?? null, c.expectError, r.error?.message);
          const diff = diffSnapshots(await expectedOf(c.dir, "expected"), await snapshot(root));
          assert.deepEqual(
            diff,
            [],
            `tree differs from ${c.name}/expected (regenerate with scripts/update-golden if intended)`,
          );
          assert.ok(
            !r.logs.includes(fakePassword) && !r.stdout.includes(fakePassword),
            "password leaked",
          );
          if (c.expectError !== null) {
            // A refused host: nothing at all may change.
            assert.deepEqual(
              diffSnapshots(await expectedOf(c.dir, "input"), await snapshot(root)),
              [],
            );
          } else {
            // Bad beside good: the comparison must notice a tree that was not changed.
            assert.notDeepEqual(
              diffSnapshots(await expectedOf(c.dir, "input"), await snapshot(root)),
              [],
            );
          }
        } finally {
          await rm(root, { recursive: true, force: true });
        }
      });

      if (c.expectError !== null) return;

      it("a second apply writes nothing (same inodes and mtimes) and changes nothing", async () => {
        const root = await inputTree(c);
        try {
          assert.equal((await runInstaller(applyArgs(c, root))).error, null);
          const before = await snapshot(root);
          const again = await runInstaller(applyArgs(c, root));
          assert.equal(again.error, null);
          assert.deepEqual((JSON.parse(again.stdout) as { changed: string[] }).changed, []);
          const after = await snapshot(root);
          assert.deepEqual(diffSnapshots(before, after), []);
          for (const [p, e] of after) {
            assert.equal(e.ino, before.get(p)?.ino, `${p} was replaced`);
            // Taking and dropping the lock file changes only its directory's mtime.
            if (p === "/var/lib/nodecred") continue;
            assert.equal(e.mtimeMs, before.get(p)?.mtimeMs, `${p} was rewritten`);
          }
          const dry = await runInstaller(applyArgs(c, root, ["--dry-run"]));
          assert.doesNotMatch(dry.stdout, /^(create|update|chmod|mkdir) /m);
        } finally {
          await rm(root, { recursive: true, force: true });
        }
      });

      it("--dry-run prints the plan as a diff, touches nothing and shows no password", async () => {
        const root = await inputTree(c);
        try {
          const r = await runInstaller(applyArgs(c, root, ["--dry-run"]));
          assert.equal(r.error, null);
          assert.match(r.stdout, /^\+\+\+ b\//m);
          assert.match(
            r.stdout,
            /policy file, rules and registry keys \(credentials not shown\):\n(?: {2}.*\n)*? {2}\+credentials for "registry\.example\.test"\n/,
          );
          assert.match(r.stdout, /^ {2}\+matchImages registry\.example\.test$/m);
          assert.ok(!r.stdout.includes(fakePassword), "password shown");
          assert.ok(!r.stdout.includes(fakeUser), "username shown");
          assert.ok(!r.logs.includes(fakePassword) && !r.logs.includes(fakeUser));
          assert.deepEqual(
            diffSnapshots(await expectedOf(c.dir, "input"), await snapshot(root)),
            [],
          );
        } finally {
          await rm(root, { recursive: true, force: true });
        }
      });

      it(`uninstall restores the ${c.uninstalled} tree byte for byte`, async () => {
        const root = await inputTree(c);
        try {
          assert.equal((await runInstaller(applyArgs(c, root))).error, null);
          const r = await runInstaller(["uninstall", "--host-root", root, "--restart", "none"]);
          assert.equal(r.error, null, r.error?.message);
          assert.deepEqual(
            diffSnapshots(await expectedOf(c.dir, c.uninstalled), await snapshot(root)),
            [],
          );
          const twice = await runInstaller(["uninstall", "--host-root", root, "--restart", "none"]);
          assert.equal(twice.error, null);
          assert.deepEqual(
            diffSnapshots(await expectedOf(c.dir, c.uninstalled), await snapshot(root)),
            [],
          );
        } finally {
          await rm(root, { recursive: true, force: true });
        }
      });
    });
  }
});
