// apply as the DaemonSet's init container runs it: ConfigMap and Secret from the volumes the
// kubelet mounts (its atomic-writer layout: ..data symlinks), the config hash the pod was created
// for, and the status file the sync container's readiness reads.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import {
  kubeletConfigHash,
  kubeletSpec,
  parseAppliedStatus,
} from "../../installer/core/kubelet/kubelet-spec.ts";
import { parseSettings } from "../../installer/core/settings/configmap.ts";
import { applyArgs, inputTree, listCases, runInstaller } from "./golden.ts";
import { tempDir } from "../temp-dir.ts";
import { diffSnapshots, snapshot } from "./tree.ts";

/** A volume the way the kubelet writes it: files in a timestamped dir, reached through ..data. */
function volume(files: Readonly<Record<string, string>>): string {
  const dir = tempDir("nodecred-volume-");
  const stamp = "..2026_11_23_01_02_03.000000001";
  mkdirSync(join(dir, stamp));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, stamp, name), text);
  symlinkSync(stamp, join(dir, "..data"));
  for (const name of Object.keys(files)) symlinkSync(join("..data", name), join(dir, name));
  return dir;
}

async function kubeadmCase(): Promise<Awaited<ReturnType<typeof listCases>>[number]> {
  const c = (await listCases()).find((x) => x.name === "kubeadm-rpm-single-quoted-duplicates");
  assert.ok(c);
  return c;
}

function volumesFor(c: { configMap: string; secret: string }): {
  cm: string;
  secret: string;
  data: Record<string, string>;
} {
  const cm = parse(readFileSync(c.configMap, "utf8")) as { data: Record<string, string> };
  const secret = parse(readFileSync(c.secret, "utf8")) as { data: Record<string, string> };
  const dockerconfig = Buffer.from(secret.data[".dockerconfigjson"] ?? "", "base64").toString();
  return {
    cm: volume(cm.data),
    secret: volume({ ".dockerconfigjson": dockerconfig }),
    data: cm.data,
  };
}

/** The golden case's argv with the manifest files swapped for volume dirs. */
function podArgs(args: string[], cm: string, secret: string, extra: string[]): string[] {
  const out = [...args];
  out.splice(out.indexOf("--configmap"), 2, "--configmap-dir", cm);
  out.splice(out.indexOf("--secret"), 2, "--secret-dir", secret);
  return [...out, ...extra];
}

describe("apply from the pod's volumes", () => {
  it("gives the node exactly what the manifest files give it, and records the applied hash", async () => {
    const c = await kubeadmCase();
    const { cm, secret, data } = volumesFor(c);
    const fromFiles = await inputTree(c);
    const fromVolumes = await inputTree(c);
    const status = join(tempDir("nodecred-status-"), "applied.json");
    assert.equal((await runInstaller(applyArgs(c, fromFiles))).error, null);
    const r = await runInstaller(
      podArgs(applyArgs(c, fromVolumes), cm, secret, ["--status-file", status]),
    );
    assert.equal(r.error, null, r.error?.message);
    assert.deepEqual(diffSnapshots(await snapshot(fromFiles), await snapshot(fromVolumes)), []);
    const settings = parseSettings(data);
    assert.ok(settings.ok);
    assert.deepEqual(JSON.parse(readFileSync(status, "utf8")), {
      kubeletConfigHash: kubeletConfigHash(settings.value),
      // JSON-stringified: no undefined, exactly the spec the sync container reads back.
      kubelet: JSON.parse(JSON.stringify(kubeletSpec(settings.value))) as unknown,
      flavour: "kubeadm-rpm",
      restarted: false,
    });
    // The sync container reads it back with the same code.
    assert.equal(
      parseAppliedStatus(readFileSync(status, "utf8"))?.kubeletConfigHash,
      kubeletConfigHash(settings.value),
    );
  });

  it("refuses, changing nothing, a mounted ConfigMap other than the one the pod was made for", async () => {
    const c = await kubeadmCase();
    const { cm, secret, data } = volumesFor(c);
    const root = await inputTree(c);
    const before = await snapshot(root);
    const status = join(tempDir("nodecred-status-"), "applied.json");
    const stale = await runInstaller(
      podArgs(applyArgs(c, root), cm, secret, [
        "--expect-config-hash",
        "0123456789abcdef",
        "--status-file",
        status,
      ]),
    );
    assert.equal(stale.error?.code, "CONFIG_NOT_CURRENT");
    assert.deepEqual(diffSnapshots(before, await snapshot(root)), []);
    assert.throws(() => readFileSync(status), /ENOENT/);

    const settings = parseSettings(data);
    assert.ok(settings.ok);
    const current = await runInstaller(
      podArgs(applyArgs(c, root), cm, secret, [
        "--expect-config-hash",
        kubeletConfigHash(settings.value),
      ]),
    );
    assert.equal(current.error, null);
    assert.notDeepEqual(diffSnapshots(before, await snapshot(root)), []);
  });

  it("hands the credentials directory and file to the sync container's user", async () => {
    const c = await kubeadmCase();
    const { cm, secret } = volumesFor(c);
    const root = await inputTree(c);
    const owner = ["--credentials-owner", "65532:65532"];
    assert.equal((await runInstaller(podArgs(applyArgs(c, root), cm, secret, owner))).error, null);
    for (const p of ["etc/nodecred/credentials", "etc/nodecred/credentials/policy.json"]) {
      const st = statSync(join(root, p));
      assert.deepEqual([st.uid, st.gid], [65532, 65532], p);
    }
    assert.equal(statSync(join(root, "etc/nodecred/credential-provider-config.yaml")).uid, 0);
    const bad = await runInstaller(
      podArgs(applyArgs(c, root), cm, secret, ["--credentials-owner", "nobody"]),
    );
    assert.equal(bad.error?.code, "USAGE");
  });

  it("names the problem when the Secret volume is not a dockerconfigjson Secret", async () => {
    const c = await kubeadmCase();
    const { cm } = volumesFor(c);
    const root = await inputTree(c);
    const opaque = volume({ username: "u", password: "FAKE-opaque-password" });
    const r = await runInstaller(podArgs(applyArgs(c, root), cm, opaque, []));
    assert.ok(r.error);
    assert.equal(r.error.code, "INVALID_INPUT");
    assert.match(r.error.message, /no \.dockerconfigjson key .*kubernetes\.io\/dockerconfigjson/);
    assert.ok(!r.error.message.includes("FAKE-opaque-password"));
  });
});
