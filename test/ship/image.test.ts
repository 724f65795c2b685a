// scripts/build-image.sh (the Dockerfile's image, built with umoci and no Docker engine): the image
// it builds runs what the manifests run, as root and as the sync container's uid, from its own rootfs.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

const repo = join(import.meta.dirname, "..", "..");
const script = join(repo, "scripts", "build-image.sh");
const version = (
  JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { version: string }
).version;
const imagePath = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin";
const syncUser = "65532:65532";

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Result {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 120_000, env: env ?? process.env });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): string {
  const r = run(cmd, args, env);
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} exited ${String(r.status)}: ${r.stderr}`);
  return r.stdout;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  annotations?: Record<string, string>;
}
interface ImageConfig {
  os: string;
  architecture: string;
  config: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    Labels?: Record<string, string>;
  };
}

function blob(layout: string, digest: string): string {
  return readFileSync(join(layout, "blobs", ...digest.split(":")), "utf8");
}

function tags(layout: string): string[] {
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as {
    manifests: Descriptor[];
  };
  return index.manifests.map((m) => m.annotations?.["org.opencontainers.image.ref.name"] ?? "");
}

function manifest(layout: string, tag: string): { config: Descriptor; layers: Descriptor[] } {
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as {
    manifests: Descriptor[];
  };
  const m = index.manifests.find(
    (d) => d.annotations?.["org.opencontainers.image.ref.name"] === tag,
  );
  assert.ok(m, `no tag ${tag} in ${layout}`);
  return JSON.parse(blob(layout, m.digest)) as { config: Descriptor; layers: Descriptor[] };
}

function build(layout: string, tag: string): string {
  return ok("bash", [script, layout, tag]);
}

describe("scripts/build-image.sh", () => {
  let dir = "";
  let layout = "";
  let rootfs = "";

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "nodecred-image-"));
    layout = join(dir, "oci");
    assert.equal(build(layout, "test"), `oci:${layout}:test\n`);
    ok("umoci", ["unpack", "--image", `${layout}:test`, join(dir, "bundle")]);
    rootfs = join(dir, "bundle", "rootfs");
  });

  after(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("has the entrypoint, PATH, user and platform the manifests rely on", () => {
    const m = manifest(layout, "test");
    assert.equal(m.layers.length, 1);
    const config = JSON.parse(blob(layout, m.config.digest)) as ImageConfig;
    assert.equal(config.os, "linux");
    assert.equal(config.architecture, "amd64");
    assert.equal(config.config.User, "0");
    assert.deepEqual(config.config.Env, [`PATH=${imagePath}`]);
    assert.deepEqual(config.config.Entrypoint, ["node", "/opt/nodecred/nodecred-installer.mjs"]);
    assert.equal(config.config.Cmd, undefined);
    assert.equal(config.config.Labels?.["org.opencontainers.image.version"], version);
  });

  it("runs its entrypoint from its own rootfs, as root and as the sync container's user", () => {
    const config = JSON.parse(blob(layout, manifest(layout, "test").config.digest)) as ImageConfig;
    // chroot finds `node` through the image's PATH: only the image's own files can answer.
    const env = { PATH: imagePath };
    for (const user of [[], [`--userspec=${syncUser}`]]) {
      const r = run(
        "chroot",
        [...user, rootfs, ...(config.config.Entrypoint ?? []), "--help"],
        env,
      );
      // --help: the usage of every command on stdout, exit 0.
      assert.equal(r.status, 0, `${user.join(" ")}: ${r.stderr}`);
      assert.match(r.stdout, /^usage:\n {2}nodecred-installer apply --host-root DIR/m);
    }
    // The sync container's own bundle (`run` only), as its user: `run --help` is run's usage.
    const sync = run(
      "chroot",
      [
        `--userspec=${syncUser}`,
        rootfs,
        "node",
        "/opt/nodecred/nodecred-sync.mjs",
        "run",
        "--help",
      ],
      env,
    );
    assert.equal(sync.status, 0, sync.stderr);
    assert.match(sync.stdout, /^usage:\n {2}nodecred-installer run \[--host-root DIR\]/);
    const bad = run("chroot", [rootfs, "node", "/opt/nodecred/no-such-file.mjs"], env);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /Cannot find module/);
  });

  it("runs the project's Node 24 binary on libraries of its own", () => {
    const want = ok(join(repo, "node_modules", ".bin", "node"), ["--version"]);
    assert.match(want, /^v24\./);
    assert.equal(ok("chroot", [rootfs, "/usr/local/bin/node", "--version"]), want);
    // The sync container's user, on a root filesystem it cannot write.
    assert.equal(
      ok("chroot", [`--userspec=${syncUser}`, rootfs, "/usr/local/bin/node", "-p", "1 + 1"]),
      "2\n",
    );
  });

  it("ships providers that match their .sha256 files and answer --version", () => {
    for (const arch of ["amd64", "arm64"]) {
      const bin = `/opt/nodecred/bin/nodecred-provider-linux-${arch}`;
      const want = readFileSync(join(rootfs, `${bin}.sha256`), "utf8").split(/\s+/)[0];
      const got = createHash("sha256")
        .update(readFileSync(join(rootfs, bin)))
        .digest("hex");
      assert.equal(got, want, `${bin} does not match ${bin}.sha256`);
      assert.deepEqual(
        readFileSync(join(rootfs, bin)),
        readFileSync(join(repo, "dist", "bin", `nodecred-provider-linux-${arch}`)),
      );
    }
    assert.equal(
      ok("chroot", [
        `--userspec=${syncUser}`,
        rootfs,
        "/opt/nodecred/bin/nodecred-provider-linux-amd64",
        "--version",
      ]),
      `nodecred-provider ${version}\n`,
    );
  });

  it("has the nsenter, sleep and sh the installer and the uninstall manifests run", () => {
    const env = { PATH: imagePath };
    // The installer's exact option spelling: busybox must parse every long option.
    const r = run(
      "chroot",
      [
        rootfs,
        "nsenter",
        "--target",
        "1",
        "--mount",
        "--uts",
        "--ipc",
        "--net",
        "--pid",
        "--",
        "true",
      ],
      env,
    );
    // There is no /proc in the chroot, so it gets as far as opening PID 1's namespaces.
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^nsenter: can't open '\/proc\/1\/ns\/\w+'/);
    assert.doesNotMatch(r.stderr, /unrecognized option|invalid option|Usage:/);
    ok("chroot", [rootfs, "sleep", "0"], env);
    assert.equal(ok("chroot", [rootfs, "sh", "-c", "echo $0", "ok"], env), "ok\n");
    assert.equal(run("chroot", [rootfs, "no-such-command"], env).status, 127);
  });

  it("replaces the tag on a rebuild and keeps no stale blobs", () => {
    build(layout, "test");
    assert.deepEqual(tags(layout), ["test"]);
    const m = manifest(layout, "test");
    assert.equal(m.layers.length, 1, "the rebuild stacked a layer on the old image");
    const referenced = [m.config, ...m.layers].map((d) => d.digest.split(":")[1]);
    const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as {
      manifests: Descriptor[];
    };
    referenced.push(...index.manifests.map((d) => d.digest.split(":")[1]));
    assert.deepEqual(readdirSync(join(layout, "blobs", "sha256")).sort(), referenced.sort());
  });

  it("refuses clearly when npm run build has not run", () => {
    const empty = join(dir, "empty-repo");
    mkdirSync(join(empty, "scripts"), { recursive: true });
    copyFileSync(script, join(empty, "scripts", "build-image.sh"));
    copyFileSync(join(repo, "Dockerfile"), join(empty, "Dockerfile"));
    const r = run("bash", [join(empty, "scripts", "build-image.sh"), join(dir, "never"), "test"]);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /^build-image\.sh: missing dist\/installer\/nodecred-installer\.mjs .*dist\/bin\/nodecred-provider-linux-arm64\.sha256 in .* \(run npm run build first\)\n$/,
    );
  });

  it("refuses a directory that is not an OCI layout", () => {
    const notLayout = join(dir, "not-a-layout");
    mkdirSync(notLayout);
    writeFileSync(join(notLayout, "file"), "");
    const r = run("bash", [script, notLayout, "test"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /not-a-layout exists and is not an OCI image layout\n$/);
    assert.deepEqual(readdirSync(notLayout), ["file"]);
  });
});
