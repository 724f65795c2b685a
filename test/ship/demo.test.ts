// `npm run demo` inside the test environment: the installer wires the demo node (policy file,
// `--policy`, the envelope), the installed provider answers, a real image is pulled with that
// answer, dry runs show a matchImages edit inside the envelope (policy file only, no restart) and
// one on a new port (config diff, restart), uninstall restores the node, and no password is ever
// printed. A broken Secret makes it fail with a clear message and no stack trace.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { testEnv } from "../env/index.ts";

const repo = join(import.meta.dirname, "..", "..");

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function npmRunDemo(args: readonly string[] = []): Promise<Ran> {
  return new Promise((resolve) => {
    const extra = args.length > 0 ? ["--", ...args] : [];
    execFile(
      "npm",
      ["run", "--silent", "demo", ...extra],
      { cwd: repo, env: process.env, timeout: 120_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The password of demo/secret.example.yaml, the one the demo must mask. */
function fakePassword(): string {
  const secret = parseYaml(readFileSync(join(repo, "demo", "secret.example.yaml"), "utf8")) as {
    stringData: Record<string, string>;
  };
  const config = JSON.parse(secret.stringData[".dockerconfigjson"] ?? "") as {
    auths: Record<string, { password: string }>;
  };
  return config.auths["registry.example.com"]?.password ?? "";
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

describe("npm run demo", () => {
  const password = fakePassword();
  const registry = testEnv().registry.tls;
  const result = npmRunDemo();

  it("has a password to hide (so the absence checks below can fail)", () => {
    assert.ok(password.length >= 8);
    assert.match(readFileSync(join(repo, "demo", "secret.example.yaml"), "utf8"), /FAKE/);
  });

  it("exits 0 and never prints the demo's or the registry's password", async () => {
    const { code, stdout, stderr } = await result;
    assert.equal(code, 0, `demo failed:\n${stdout}\n${stderr}`);
    for (const secret of [password, registry.password]) {
      assert.ok(!stdout.includes(secret), "a password appears in stdout");
      assert.ok(!stderr.includes(secret), "a password appears in stderr");
    }
    assert.match(stdout, /"password": "\*{8}"/);
    assert.doesNotMatch(`${stdout}\n${stderr}`, /demo failed|^\s+at .*:\d+:\d+\)?$/m);
  });

  it("adds the two kubelet flags after the node's own, and writes the config and the policy file", async () => {
    const { stdout } = await result;
    assert.ok(stdout.includes('-KUBELET_EXTRA_ARGS="--node-ip=10.0.0.5"\n'), stdout);
    assert.ok(
      stdout.includes(
        '+KUBELET_EXTRA_ARGS="--node-ip=10.0.0.5 --image-credential-provider-bin-dir=/etc/nodecred/bin' +
          ' --image-credential-provider-config=/etc/nodecred/credential-provider-config.yaml"\n',
      ),
    );
    assert.match(
      stdout,
      /^ {2}\+ 0644 +\d+ B {2}\/etc\/nodecred\/credential-provider-config\.yaml$/m,
    );
    assert.match(stdout, /^ {2}\+ 0600 +\d+ B {2}\/etc\/nodecred\/credentials\/policy\.json$/m);
    assert.doesNotMatch(stdout, /docker-config\.json|--credentials=/);
    assert.match(stdout, /^ {2}\+ 0755 +\d+ B {2}\/etc\/nodecred\/bin\/nodecred$/m);
    assert.match(stdout, /kind: CredentialProviderConfig/);
    assert.match(stdout, /^ {10}- --policy=\/etc\/nodecred\/credentials\/policy\.json$/m);
    // The envelope, with a ladder for the test registry's port; the host itself is in the policy.
    const port = /:(\d+)$/.exec(registry.host)?.[1] ?? "";
    assert.match(stdout, /^ {10}- "\*\.\*\.\*\.\*\.\*\.\*\.\*"$/m);
    assert.match(stdout, new RegExp(`^ {10}- "\\*:${port}"$`, "m"));
    assert.match(stdout, new RegExp(`^ {4}matchImages ${escape(registry.host)}$`, "m"));
    assert.match(
      stdout,
      new RegExp(`^ {4}credentials for ${escape(registry.host)} \\(not shown\\)$`, "m"),
    );
    assert.match(stdout, /apply again: 0 files changed/);
  });

  it("shows the installed provider's answer for the example registry", async () => {
    const { stdout } = await result;
    assert.match(
      stdout,
      /"registry\.example\.com": \{\s+"username": "demo-robot",\s+"password": "\*{8}"\s+\}/,
    );
    assert.match(stdout, /The answer holds the Secret's username and password/);
  });

  it("shows an empty answer for an image in the envelope that no rule names, and --check's reason", async () => {
    const { stdout } = await result;
    assert.match(
      stdout,
      /"image":"docker\.io\/library\/busybox"\}'[^]*?"cacheDuration": "0s",\s+"auth": \{\}/,
    );
    assert.match(stdout, /No matchImages rule names it: an empty answer/);
    assert.match(stdout, /matches rule "?registry\.example\.com"?\n/);
  });

  it("dry runs: an edit inside the envelope is live, one on a new port restarts the kubelet", async () => {
    const { stdout } = await result;
    const live = /matchImages \+ \*\.mirror\.example\.com\/team [^]*?\n\n/.exec(stdout)?.[0] ?? "";
    assert.match(live, /^ {6}\+matchImages \*\.mirror\.example\.com\/team$/m);
    assert.match(live, /^ {4}no kubelet restart: the kubelet's config is unchanged/m);
    assert.doesNotMatch(live, /credential-provider-config\.yaml|^ {4}restart /m);
    const port = /matchImages \+ mirror\.example\.com:(\d+) /.exec(stdout)?.[1];
    assert.ok(port !== undefined, stdout);
    const grown = stdout.slice(stdout.indexOf(`matchImages + mirror.example.com:${port}`));
    assert.match(grown, /^ {6}\+matchImages mirror\.example\.com:\d+$/m);
    assert.match(grown, new RegExp(`^ {4}\\+ {6}- "\\*:${port}"$`, "m"));
    assert.match(
      grown,
      /^ {4}restart kubelet: provider-config \/etc\/nodecred\/credential-provider-config\.yaml updated$/m,
    );
    assert.doesNotMatch(grown.slice(0, grown.indexOf("== ")), /no kubelet restart/);
  });

  it("pulls the test image from the local registry with that answer, after a refusal without", async () => {
    const { stdout } = await result;
    const env = testEnv();
    const image = `${registry.host}/${env.image.repository}:${env.image.tag}`;
    assert.match(stdout, /Without credentials the registry refuses the pull: .*authentication/i);
    assert.match(
      stdout,
      new RegExp(
        `Pulled ${escape(image)} with the provider's answer: manifest sha256:[0-9a-f]{64}`,
      ),
    );
  });

  it("uninstalls back to the original node and removes its temp dir", async () => {
    const { stdout } = await result;
    assert.match(stdout, /\/etc\/sysconfig\/kubelet is byte-identical to the original/);
    const tmp = /\(temp dir (\S+) removed\)/.exec(stdout)?.[1];
    assert.ok(tmp !== undefined);
    assert.ok(!existsSync(tmp), `${tmp} is still there`);
  });

  it("fails with the installer's problems, no stack trace and no password, on a broken Secret", async () => {
    const dir = mkdtempSync(join(testEnv().workDir, "demo-"));
    const secret = join(dir, "secret.yaml");
    const broken = { auths: { "registry.example.com": { username: 42, password } } };
    writeFileSync(
      secret,
      [
        "apiVersion: v1",
        "kind: Secret",
        "metadata: { name: nodecred-credentials, namespace: nodecred }",
        "type: kubernetes.io/dockerconfigjson",
        "stringData:",
        `  .dockerconfigjson: '${JSON.stringify(broken)}'`,
        "",
      ].join("\n"),
    );
    const { code, stdout, stderr } = await npmRunDemo(["--secret", secret]);
    assert.notEqual(code, 0);
    assert.match(stderr, /demo failed: nodecred-installer apply --dry-run exited 3/);
    assert.match(stderr, /username: must be a string/);
    assert.doesNotMatch(`${stdout}\n${stderr}`, /^\s+at .*:\d+:\d+\)?$/m);
    assert.ok(!`${stdout}\n${stderr}`.includes(password), "the password was printed");
    const tmp = /\(temp dir (\S+) removed\)/.exec(stdout)?.[1];
    assert.ok(tmp !== undefined && !existsSync(tmp));
  });
});
