// manifests-uninstall/ against the real kube-apiserver (server-side dry run), its command line
// against the real installer bundle, and its host access against the apply container's.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { testEnv } from "../env/index.ts";
import { kubectl, repoRoot } from "../sync/cluster.ts";

const run = promisify(execFile);

interface Container {
  name: string;
  command: string[];
  securityContext: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  hostPID?: boolean;
  initContainers: Container[];
  containers: Container[];
  volumes: { name: string; hostPath?: { path: string } }[];
}
interface DaemonSet {
  kind: string;
  metadata: { name: string; namespace: string };
  spec: { template: { spec: PodSpec } };
}

async function daemonSet(dir: string): Promise<DaemonSet> {
  const text = await kubectl(["kustomize", join(repoRoot, dir)]);
  const ds = parseAllDocuments(text)
    .map((d) => d.toJS() as DaemonSet)
    .find((o) => o.kind === "DaemonSet");
  assert.ok(ds, `no DaemonSet in ${dir}`);
  return ds;
}

/** mountPath → host path (and read-only) of a container's hostPath mounts. */
function hostMounts(spec: PodSpec, c: Container): string[] {
  return (c.volumeMounts ?? [])
    .map((m) => {
      const host = spec.volumes.find((v) => v.name === m.name)?.hostPath?.path;
      return host === undefined ? "" : `${m.mountPath}=${host}${m.readOnly === true ? ":ro" : ""}`;
    })
    .filter((s) => s !== "")
    .sort();
}

describe("manifests-uninstall/", () => {
  before(async () => {
    await kubectl(["apply", "-f", join(repoRoot, "manifests", "namespace.yaml")]);
  });

  it("is accepted by kube-apiserver (server-side dry run), and a broken copy is refused", async () => {
    const out = await kubectl([
      "apply",
      "-k",
      join(repoRoot, "manifests-uninstall"),
      "--dry-run=server",
    ]);
    assert.match(out, /daemonset\.apps\/nodecred-uninstall/);
    const ds = await daemonSet("manifests-uninstall");
    const broken = { ...ds, spec: { ...ds.spec, selector: { matchLabels: { other: "x" } } } };
    await assert.rejects(
      kubectl(["apply", "--dry-run=server", "-f", "-"], undefined, JSON.stringify(broken)),
      /selector/,
    );
  });

  it("runs uninstall with the host access apply has, and nothing else privileged", async () => {
    const uninstall = (await daemonSet("manifests-uninstall")).spec.template.spec;
    const apply = (await daemonSet("manifests")).spec.template.spec;
    const [u] = uninstall.initContainers;
    const a = apply.initContainers.find((c) => c.name === "apply");
    assert.ok(u && a);
    assert.deepEqual(u.command.slice(0, 3), a.command.slice(0, 2).concat("uninstall"));
    assert.deepEqual(hostMounts(uninstall, u), hostMounts(apply, a));
    assert.equal(uninstall.hostPID, true);
    for (const c of uninstall.containers) {
      assert.equal(c.securityContext["privileged"], false, c.name);
      assert.deepEqual(hostMounts(uninstall, c), [], c.name);
    }
  });

  it("has a command line the installer accepts (and the installer refuses a wrong one)", async () => {
    const u = (await daemonSet("manifests-uninstall")).spec.template.spec.initContainers[0];
    assert.ok(u);
    const root = mkdtempSync(join(testEnv().workDir, "uninstall-"));
    const args = u.command
      .slice(2)
      .map((a) => (a === "--host-root=/host" ? `--host-root=${root}` : a));
    const bundle = join(repoRoot, "dist", "installer", "nodecred-installer.mjs");
    const { stdout } = await run(process.execPath, [
      bundle,
      ...args,
      "--dry-run",
      "--restart",
      "none",
    ]);
    assert.match(stdout, /nothing installed/);
    await assert.rejects(run(process.execPath, [bundle, ...args, "--no-such-flag"]), /USAGE/);
  });
});
