/**
 * What apply and uninstall do to a node others also change: config management rewriting the
 * flags file after us, an admin adding to files we created, a provider the node already had,
 * symbolic links planted anywhere on the way, a state file that is not ours. Real host trees in
 * temp dirs (the golden cases' inputs), real links and FIFOs, the installer's own command line.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readProviderFlags } from "../../installer/core/node/kubelet-flags.ts";
import { applyArgs, inputTree, listCases, runInstaller, type GoldenCase } from "./golden.ts";
import { diffSnapshots, snapshot } from "./tree.ts";
import { tempDir } from "../temp-dir.ts";

const cases = await listCases();
function golden(name: string): GoldenCase {
  const c = cases.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no golden case ${name}`);
  return c;
}

const uninstall = (root: string): ReturnType<typeof runInstaller> =>
  runInstaller(["uninstall", "--host-root", root, "--restart", "none"]);

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function withTree(name: string, fn: (root: string, c: GoldenCase) => Promise<void>) {
  const c = golden(name);
  const root = await inputTree(c);
  try {
    await fn(root, c);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function applyOk(c: GoldenCase, root: string): Promise<void> {
  const r = await runInstaller(applyArgs(c, root));
  assert.equal(r.error, null, r.error?.message);
}

describe("changes made by others after us survive uninstall", () => {
  it("flags file rewritten by config management, then re-applied: uninstall leaves exactly their version", async () => {
    await withTree("kubeadm-deb-double-quoted", async (root, c) => {
      const flags = join(root, "etc/default/kubelet");
      await applyOk(c, root);
      // Config management writes its own template again: new node IP, more pods, our flags gone.
      const theirs = 'NODE_IP=10.0.0.8\nKUBELET_EXTRA_ARGS="--node-ip=10.0.0.8 --max-pods=50"\n';
      await writeFile(flags, theirs);
      await applyOk(c, root);
      assert.notEqual(
        readProviderFlags(await readFile(flags, "latin1"), "KUBELET_EXTRA_ARGS").configPath,
        null,
      );
      // The first apply's backup is older than their version: it must be gone already.
      assert.deepEqual(
        [...(await snapshot(root)).keys()].filter((p) => p.startsWith("/var/lib/nodecred/backup/")),
        [],
      );
      const r = await uninstall(root);
      assert.equal(r.error, null, r.error?.message);
      assert.equal(await readFile(flags, "utf8"), theirs);
    });
  });

  it("flags file edited in place after apply (no re-apply): uninstall keeps the edit, takes our flags out", async () => {
    await withTree("kubeadm-deb-double-quoted", async (root, c) => {
      const flags = join(root, "etc/default/kubelet");
      const pristine = await readFile(flags, "utf8");
      await applyOk(c, root);
      const applied = await readFile(flags, "utf8");
      await writeFile(flags, applied.replace("--max-pods=110", "--max-pods=250"));
      assert.equal((await uninstall(root)).error, null);
      assert.equal(
        await readFile(flags, "utf8"),
        pristine.replace("--max-pods=110", "--max-pods=250"),
      );
    });
  });

  it("unchanged since our write: uninstall restores the node's own bytes exactly (bad beside good)", async () => {
    await withTree("kubeadm-deb-double-quoted", async (root, c) => {
      const flags = join(root, "etc/default/kubelet");
      const pristine = await readFile(flags);
      await applyOk(c, root);
      assert.notDeepEqual(await readFile(flags), pristine);
      assert.equal((await uninstall(root)).error, null);
      assert.deepEqual(await readFile(flags), pristine);
    });
  });

  it("AKS provider config rewritten by the node's tooling, then re-applied: uninstall leaves their version", async () => {
    await withTree("aks-merge-yaml", async (root, c) => {
      const config = join(root, "var/lib/kubelet/credential-provider-config.yaml");
      const pristine = await readFile(config, "utf8");
      await applyOk(c, root);
      const theirs = pristine.replace(
        '      - "*.azurecr.cn"\n',
        '      - "*.azurecr.cn"\n      - "*.azurecr.us"\n',
      );
      assert.notEqual(theirs, pristine);
      await writeFile(config, theirs);
      await applyOk(c, root);
      assert.match(await readFile(config, "utf8"), /name: nodecred/);
      assert.equal((await uninstall(root)).error, null);
      const after = await readFile(config, "utf8");
      assert.match(after, /\*\.azurecr\.us/);
      assert.doesNotMatch(after, /nodecred/);
      assert.equal(after, theirs);
    });
  });

  it("a flags file we created and an admin added to: uninstall keeps their settings", async () => {
    await withTree("kubeadm-deb-missing-file", async (root, c) => {
      const flags = join(root, "etc/default/kubelet");
      await applyOk(c, root);
      const ours = await readFile(flags, "utf8");
      await writeFile(
        flags,
        `# added by the admin\nNODE_IP=10.0.0.9\n${ours.replace('="', '="--node-ip=10.0.0.9 ')}`,
      );
      assert.equal((await uninstall(root)).error, null);
      const after = await readFile(flags, "utf8");
      assert.match(after, /^# added by the admin\nNODE_IP=10\.0\.0\.9\n/);
      assert.match(after, /--node-ip=10\.0\.0\.9/);
      assert.deepEqual(readProviderFlags(after, "KUBELET_EXTRA_ARGS"), {
        configPath: null,
        binDir: null,
      });
    });
  });

  it("a flags file we created and nobody changed goes whole", async () => {
    await withTree("kubeadm-deb-missing-file", async (root, c) => {
      await applyOk(c, root);
      assert.ok(await exists(join(root, "etc/default/kubelet")));
      assert.equal((await uninstall(root)).error, null);
      assert.ok(!(await exists(join(root, "etc/default/kubelet"))));
    });
  });

  it("our own provider config with someone else's provider added: uninstall refuses and changes nothing", async () => {
    await withTree("kubeadm-deb-double-quoted", async (root, c) => {
      await applyOk(c, root);
      const config = join(root, "etc/nodecred/credential-provider-config.yaml");
      const text = await readFile(config, "utf8");
      await writeFile(
        config,
        text.replace(
          "providers:\n",
          'providers:\n  - name: hand-added\n    matchImages: ["registry.corp.example"]\n    defaultCacheDuration: 1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n',
        ),
      );
      const before = await snapshot(root);
      const r = await uninstall(root);
      assert.equal(r.error?.code, "HOST_IO");
      assert.match(r.error.message, /hand-added/);
      assert.deepEqual(diffSnapshots(before, await snapshot(root)), []);
    });
  });
});

describe("a provider the node already has is merged into or refused, never displaced", () => {
  it("our flags left shadowing the node's own by an earlier version: refused, nothing written", async () => {
    await withTree("kubeadm-deb-kubeadm-flags-provider", async (root, c) => {
      await writeFile(
        join(root, "etc/default/kubelet"),
        'KUBELET_EXTRA_ARGS="--image-credential-provider-config=/etc/nodecred/credential-provider-config.yaml --image-credential-provider-bin-dir=/etc/nodecred/bin"\n',
      );
      const before = await snapshot(root);
      const r = await runInstaller(applyArgs(c, root));
      assert.equal(r.error?.code, "UNSUPPORTED_HOST");
      assert.match(r.error.message, /kubeadm-flags\.env/);
      assert.deepEqual(diffSnapshots(before, await snapshot(root)), []);
    });
  });

  it("the node's provider flags point at a config that does not exist: refused, nothing written", async () => {
    await withTree("kubeadm-rpm-node-provider-merge", async (root, c) => {
      await rm(join(root, "etc/kubernetes/credential-providers.yaml"));
      const before = await snapshot(root);
      const r = await runInstaller(applyArgs(c, root));
      assert.equal(r.error?.code, "UNSUPPORTED_HOST");
      assert.match(r.error.message, /credential-providers\.yaml, which does not exist/);
      assert.deepEqual(diffSnapshots(before, await snapshot(root)), []);
    });
  });
});

describe("the kubelet's own systemd unit decides where its flags come from", () => {
  const unitDir = "usr/lib/systemd/system";
  const kubeadmDropIn = [
    "[Service]",
    "EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env",
    "EnvironmentFile=-/etc/sysconfig/kubelet",
    "ExecStart=",
    "ExecStart=/usr/bin/kubelet $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS",
    "",
  ].join("\n");
  async function withUnit(root: string, dropIns: Record<string, string>): Promise<void> {
    await mkdir(join(root, unitDir, "kubelet.service.d"), { recursive: true });
    await writeFile(
      join(root, unitDir, "kubelet.service"),
      "[Service]\nExecStart=/usr/bin/kubelet\n",
    );
    await writeFile(join(root, unitDir, "kubelet.service.d/10-kubeadm.conf"), kubeadmDropIn);
    for (const [name, text] of Object.entries(dropIns)) {
      await mkdir(join(root, "etc/systemd/system/kubelet.service.d"), { recursive: true });
      await writeFile(join(root, "etc/systemd/system/kubelet.service.d", name), text);
    }
  }

  it("kubeadm's unit: applied as before", async () => {
    await withTree("kubeadm-rpm-unquoted-empty", async (root, c) => {
      await withUnit(root, {});
      await applyOk(c, root);
    });
  });

  it("a drop-in whose ExecStart= drops $KUBELET_EXTRA_ARGS: refused, nothing written", async () => {
    await withTree("kubeadm-rpm-unquoted-empty", async (root, c) => {
      await withUnit(root, {
        "20-own.conf": "[Service]\nExecStart=\nExecStart=/usr/bin/kubelet $KUBELET_KUBEADM_ARGS\n",
      });
      const before = await snapshot(root);
      const r = await runInstaller(applyArgs(c, root));
      assert.equal(r.error?.code, "UNSUPPORTED_HOST");
      assert.match(r.error.message, /does not pass \$KUBELET_EXTRA_ARGS/);
      assert.deepEqual(diffSnapshots(before, await snapshot(root)), []);
    });
  });

  it("that drop-in masked by a link to /dev/null in /etc: applied", async () => {
    await withTree("kubeadm-rpm-unquoted-empty", async (root, c) => {
      await withUnit(root, {});
      await writeFile(
        join(root, unitDir, "kubelet.service.d/20-own.conf"),
        "[Service]\nExecStart=\nExecStart=/usr/bin/kubelet $KUBELET_KUBEADM_ARGS\n",
      );
      await mkdir(join(root, "etc/systemd/system/kubelet.service.d"), { recursive: true });
      await symlink("/dev/null", join(root, "etc/systemd/system/kubelet.service.d/20-own.conf"));
      await applyOk(c, root);
    });
  });

  it("the node's provider flags on a drop-in's ExecStart= line: merged into, flags untouched", async () => {
    await withTree("kubeadm-rpm-node-provider-merge", async (root, c) => {
      const flags = join(root, "etc/sysconfig/kubelet");
      await writeFile(flags, 'KUBELET_EXTRA_ARGS="--node-ip=10.0.0.9"\n');
      await withUnit(root, {
        "20-cp.conf":
          "[Service]\nExecStart=\nExecStart=/usr/bin/kubelet --image-credential-provider-config=/etc/kubernetes/credential-providers.yaml --image-credential-provider-bin-dir=/usr/libexec/kubernetes/credential-providers $KUBELET_EXTRA_ARGS\n",
      });
      await applyOk(c, root);
      assert.equal(await readFile(flags, "utf8"), 'KUBELET_EXTRA_ARGS="--node-ip=10.0.0.9"\n');
      assert.match(
        await readFile(join(root, "etc/kubernetes/credential-providers.yaml"), "utf8"),
        /name: nodecred/,
      );
    });
  });
});

describe("every host path is resolved inside the host root, in every command", () => {
  it("uninstall refuses a symlinked directory of ours pointing outside the host root; nothing outside changes, the state stays", async () => {
    await withTree("kubeadm-deb-double-quoted", async (root, c) => {
      await applyOk(c, root);
      const outside = tempDir("nodecred-outside-");
      await rm(outside, { recursive: true });
      await rename(join(root, "etc/nodecred"), outside);
      await symlink(outside, join(root, "etc/nodecred"));
      try {
        const outsideBefore = await snapshot(outside);
        const before = await snapshot(root);
        const r = await uninstall(root);
        assert.equal(r.error?.code, "HOST_IO");
        assert.match(r.error.message, /\/etc\/nodecred is a symbolic link/);
        assert.deepEqual(diffSnapshots(outsideBefore, await snapshot(outside)), []);
        assert.deepEqual(diffSnapshots(before, await snapshot(root)), []);
        assert.ok(await exists(join(root, "var/lib/nodecred/state.json")));
      } finally {
        await rm(outside, { recursive: true, force: true });
      }
    });
  });

  it("a backup replaced by a link to a file outside: uninstall refuses and the outside file is untouched", async () => {
    await withTree("kubeadm-deb-double-quoted", async (root, c) => {
      await applyOk(c, root);
      const outside = join(tempDir("nodecred-outside-"), "passwd");
      await writeFile(outside, "root:x:0:0::/root:/bin/sh\n");
      const backup = join(root, "var/lib/nodecred/backup/%2Fetc%2Fdefault%2Fkubelet");
      await rm(backup);
      await symlink(outside, backup);
      const r = await uninstall(root);
      assert.equal(r.error?.code, "HOST_IO");
      assert.equal(await readFile(outside, "utf8"), "root:x:0:0::/root:/bin/sh\n");
      assert.ok(await exists(join(root, "var/lib/nodecred/state.json")));
    });
  });

  it("an absolute link on the host is not resolved against the container's root: apply refuses, nothing is written there", async () => {
    await withTree("kubeadm-rpm-unquoted-empty", async (root, c) => {
      // On the host, /etc/sysconfig -> /<name> means <root>/<name>; the kernel would take it as
      // the container's /<name>.
      const name = `nodecred-test-${randomBytes(6).toString("hex")}`;
      await rename(join(root, "etc/sysconfig"), join(root, name));
      await symlink(`/${name}`, join(root, "etc/sysconfig"));
      try {
        const before = await snapshot(root);
        const r = await runInstaller(applyArgs(c, root, ["--flavour", "kubeadm-rpm"]));
        assert.equal(r.error?.code, "HOST_IO");
        assert.match(r.error.message, /\/etc\/sysconfig is a symbolic link/);
        assert.deepEqual(diffSnapshots(before, await snapshot(root)), []);
        assert.ok(!(await exists(`/${name}`)), "wrote through the link into the container's root");
      } finally {
        await rm(`/${name}`, { recursive: true, force: true });
      }
    });
  });

  it("the state directory as a link: apply and uninstall both refuse", async () => {
    await withTree("kubeadm-deb-double-quoted", async (root, c) => {
      await applyOk(c, root);
      const moved = join(root, "var/lib/elsewhere");
      await rename(join(root, "var/lib/nodecred"), moved);
      await symlink("elsewhere", join(root, "var/lib/nodecred"));
      const before = await snapshot(root);
      assert.equal((await runInstaller(applyArgs(c, root))).error?.code, "HOST_IO");
      assert.equal((await uninstall(root)).error?.code, "HOST_IO");
      assert.deepEqual(diffSnapshots(before, await snapshot(root)), []);
    });
  });

  it("host facts follow links inside the host: an absolute os-release link reads the host's file, not the container's", async () => {
    const root = tempDir("nodecred-facts-");
    try {
      await mkdir(join(root, "usr/lib"), { recursive: true });
      await mkdir(join(root, "etc"), { recursive: true });
      await writeFile(join(root, "usr/lib/os-release"), 'ID=fedora\nID_LIKE="rhel centos"\n');
      await symlink("/usr/lib/os-release", join(root, "etc/os-release"));
      const c = golden("kubeadm-rpm-unquoted-empty");
      const args = applyArgs(c, root, ["--dry-run"]).filter(
        (a, i, all) => a !== "--flavour" && all[i - 1] !== "--flavour",
      );
      const r = await runInstaller(args);
      assert.equal(r.error, null, r.error?.message);
      // Fedora: the flags go to /etc/sysconfig/kubelet. The container (Debian) would say /etc/default.
      assert.match(r.stdout, /\/etc\/sysconfig\/kubelet/);
      assert.doesNotMatch(r.stdout, /\/etc\/default\/kubelet/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it(
    "a FIFO where the flags file should be: apply fails at once and changes nothing",
    { timeout: 20_000 },
    async () => {
      await withTree("kubeadm-rpm-unquoted-empty", async (root, c) => {
        await rm(join(root, "etc/sysconfig/kubelet"));
        execFileSync("mkfifo", [join(root, "etc/sysconfig/kubelet")]);
        const before = await snapshot(root, (p) => p === "/etc/sysconfig/kubelet");
        const r = await runInstaller(applyArgs(c, root));
        assert.equal(r.error?.code, "HOST_IO");
        assert.match(r.error.message, /not a regular file/);
        assert.deepEqual(
          diffSnapshots(before, await snapshot(root, (p) => p === "/etc/sysconfig/kubelet")),
          [],
        );
      });
    },
  );
});

describe("a state file that is not ours stops the command", () => {
  for (const [what, bytes] of [
    ["truncated JSON", '{"version":1,"flavour":"kubeadm-deb","unit":"kubelet","files":[{"pa'],
    [
      "a file entry without its path",
      '{"version":1,"flavour":"kubeadm-deb","unit":"kubelet","files":[{"role":"kubelet-flags","origin":"modified"}]}',
    ],
    [
      "a path outside the host",
      '{"version":1,"flavour":"kubeadm-deb","unit":"kubelet","files":[{"path":"/etc/../../x","role":"credentials","origin":"created","backup":null,"originalMode":null,"writtenSha256":null}]}',
    ],
    ["binary bytes", "\u0000\u00ff\u0001garbage"],
  ] as const) {
    it(`${what}: apply and uninstall both exit HOST_IO and change nothing`, async () => {
      await withTree("kubeadm-deb-double-quoted", async (root, c) => {
        await applyOk(c, root);
        await writeFile(join(root, "var/lib/nodecred/state.json"), bytes);
        const before = await snapshot(root);
        const a = await runInstaller(applyArgs(c, root));
        assert.equal(a.error?.code, "HOST_IO");
        assert.match(a.error.message, /state\.json is not a nodecred state file/);
        const u = await uninstall(root);
        assert.equal(u.error?.code, "HOST_IO");
        assert.deepEqual(diffSnapshots(before, await snapshot(root)), []);
      });
    });
  }
});
