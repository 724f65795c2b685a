// The same request/answer table through the Node bundle and the static binary (spawned, as the
// kubelet spawns them): stdout bytes, stderr and exit code must be identical, and right. Needs
// `npm run build` (the test command builds first). The arm64 binary runs too where this machine
// can execute it (natively or through binfmt/qemu).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { encodeBase64Utf8 } from "../../provider/core/base64.ts";
import { formatPolicy } from "../../provider/core/policy.ts";
import {
  answer,
  CREDENTIALS,
  emptyAnswer,
  jwt,
  PASSWORDS,
  POLICY,
  request,
  saClaims,
  saToken,
  SCOPED_POLICY,
  scopedRequest,
  TOKEN_MARKER,
  TOKEN_SIGNATURE,
} from "./fixtures.ts";
import { NODE_BUNDLE, runProvider, staticBinary, type ProviderRun } from "./run-provider.ts";

interface Case {
  readonly name: string;
  readonly argv: (dir: string) => string[];
  readonly stdin: string;
  /** Checked against the Node bundle's output; the binaries must then equal it. */
  readonly expect: (r: ProviderRun) => void;
}

const V1 = "credentialprovider.kubelet.k8s.io/v1";
const V1BETA1 = "credentialprovider.kubelet.k8s.io/v1beta1";

function creds(dir: string, name = "credentials.json"): string[] {
  return ["--credentials", join(dir, name)];
}

function policy(dir: string, name = "policy.json"): string[] {
  return ["--policy", join(dir, name)];
}

function ok(stdout: string): (r: ProviderRun) => void {
  return (r) => {
    assert.deepEqual(r, { stdout, stderr: "", code: 0 });
  };
}

function fails(reason: string): (r: ProviderRun) => void {
  return (r) => {
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^nodecred-provider: [^\n]*\n$/);
    assert.ok(r.stderr.includes(reason), r.stderr);
  };
}

const CASES: readonly Case[] = [
  {
    name: "registry host key",
    argv: creds,
    stdin: request("reg.example.com/app"),
    expect: ok(answer("Image", "0s", { "reg.example.com": ["alice", "pw-alpha-7f3a"] })),
  },
  {
    name: "path key first, then host key",
    argv: creds,
    stdin: request("reg.example.com/team/app"),
    expect: ok(
      answer("Image", "0s", {
        "https://reg.example.com/v2/team": ["team", "pw-team-0b8e"],
        "reg.example.com": ["alice", "pw-alpha-7f3a"],
      }),
    ),
  },
  {
    name: "glob key, Registry cache",
    argv: creds,
    stdin: request("build.corp.example/tools/x"),
    expect: ok(answer("Registry", "0s", { "*.corp.example": ["bob", "pw-beta-91c2"] })),
  },
  {
    name: "Docker Hub fallback",
    argv: creds,
    stdin: request("docker.io/library/nginx"),
    expect: ok(
      answer("Registry", "0s", { "https://index.docker.io/v1/": ["hubuser", "pw-hub-55d0"] }),
    ),
  },
  {
    name: "IPv4 with port, password with a colon",
    argv: creds,
    stdin: request("10.0.0.5:5000/x/y"),
    expect: ok(answer("Registry", "0s", { "10.0.0.5:5000": ["carol", "pw:colon-e4"] })),
  },
  {
    name: "IPv6 with port",
    argv: creds,
    stdin: request("[fd00::1]:5000/x"),
    expect: ok(answer("Registry", "0s", { "[fd00::1]:5000": ["v6", "pw-alpha-7f3a"] })),
  },
  {
    name: "no match",
    argv: creds,
    stdin: request("quay.io/x"),
    expect: ok(answer("Image", "0s", {})),
  },
  {
    name: "port must match",
    argv: creds,
    stdin: request("reg.example.com:5000/app"),
    expect: ok(answer("Image", "0s", {})),
  },
  {
    name: "v1beta1",
    argv: creds,
    stdin: request("reg.example.com/app", "credentialprovider.kubelet.k8s.io/v1beta1"),
    expect: ok(answer("Image", "0s", { "reg.example.com": ["alice", "pw-alpha-7f3a"] }, V1BETA1)),
  },
  {
    name: "v1alpha1",
    argv: creds,
    stdin: request("quay.io/x", "credentialprovider.kubelet.k8s.io/v1alpha1"),
    expect: ok(answer("Image", "0s", {}, "credentialprovider.kubelet.k8s.io/v1alpha1")),
  },
  {
    name: "KEP-4412 fields tolerated",
    argv: creds,
    stdin: JSON.stringify({
      kind: "CredentialProviderRequest",
      apiVersion: V1,
      image: "reg.example.com/app",
      serviceAccountToken: "tok",
      serviceAccountAnnotations: { a: "b" },
    }),
    expect: ok(answer("Image", "0s", { "reg.example.com": ["alice", "pw-alpha-7f3a"] })),
  },
  {
    name: "cache duration default is 0s",
    argv: creds,
    stdin: request("build.corp.example/x"),
    expect: ok(answer("Registry", "0s", { "*.corp.example": ["bob", "pw-beta-91c2"] })),
  },
  {
    name: "cache duration 5m",
    argv: (d) => [...creds(d), "--cache-duration", "5m"],
    stdin: request("reg.example.com/app"),
    expect: ok(answer("Image", "5m0s", { "reg.example.com": ["alice", "pw-alpha-7f3a"] })),
  },
  {
    name: "cache duration flag",
    argv: (d) => [...creds(d), "--cache-duration", "1h30m"],
    stdin: request("build.corp.example/x"),
    expect: ok(answer("Registry", "1h30m0s", { "*.corp.example": ["bob", "pw-beta-91c2"] })),
  },
  {
    name: "cache duration zero",
    argv: (d) => [...creds(d), "--cache-duration=0"],
    stdin: request("build.corp.example/x"),
    expect: ok(answer("Registry", "0s", { "*.corp.example": ["bob", "pw-beta-91c2"] })),
  },
  {
    // BigInt in the static binary: past 2^53 ns a double is no longer exact.
    name: "cache duration at the int64 limit",
    argv: (d) => [...creds(d), "--cache-duration=9223372036854775807ns"],
    stdin: request("build.corp.example/x"),
    expect: ok(
      answer("Registry", "2562047h47m16.854775807s", {
        "*.corp.example": ["bob", "pw-beta-91c2"],
      }),
    ),
  },
  {
    name: "cache duration past the int64 limit",
    argv: (d) => [...creds(d), "--cache-duration=2562048h"],
    stdin: request("build.corp.example/x"),
    expect: fails("--cache-duration"),
  },
  {
    name: "non-ASCII and escapes survive byte for byte",
    argv: (d) => creds(d, "unicode.json"),
    stdin: request("reg.io/x"),
    expect: (r) => {
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(r.stdout) as {
        auth: Record<string, { username: string; password: string }>;
      };
      assert.deepEqual(res.auth["reg.io"], {
        username: "\u00e9l\u00e8ve \u2603",
        password: 'q"\\\u0001\u2028\ud83d\ude00',
      });
    },
  },
  { name: "not JSON", argv: creds, stdin: "not json", expect: fails("request is not valid JSON") },
  { name: "empty stdin", argv: creds, stdin: "", expect: fails("request is not valid JSON") },
  {
    name: "wrong kind",
    argv: creds,
    stdin: JSON.stringify({ kind: "CredentialProviderResponse", apiVersion: V1, image: "a" }),
    expect: fails("request kind is"),
  },
  {
    name: "unknown apiVersion",
    argv: creds,
    stdin: request("a/b", "credentialprovider.kubelet.k8s.io/v2"),
    expect: fails("is not supported"),
  },
  {
    name: "missing image",
    argv: creds,
    stdin: JSON.stringify({ kind: "CredentialProviderRequest", apiVersion: V1 }),
    expect: fails("request image must be a non-empty string"),
  },
  {
    name: "credentials file missing",
    argv: (d) => creds(d, "missing.json"),
    stdin: request("a/b"),
    expect: fails("no such file or directory"),
  },
  {
    name: "credentials path is a directory",
    argv: (d) => ["--credentials", d],
    stdin: request("a/b"),
    expect: fails("is a directory"),
  },
  {
    name: "credentials not JSON",
    argv: (d) => creds(d, "broken.json"),
    stdin: request("a/b"),
    expect: fails("is invalid: not valid JSON"),
  },
  {
    name: "credentials with bad auth",
    argv: (d) => creds(d, "bad-auth.json"),
    stdin: request("a/b"),
    expect: fails(".auth: not valid base64"),
  },
  {
    name: "usage error",
    argv: (d) => [...policy(d), ...creds(d)],
    stdin: request("a/b"),
    expect: fails("give --policy or --credentials, not both"),
  },
  // Policy mode: the live rules decide which images get anything (fixtures.ts POLICY).
  {
    name: "policy: inside a path rule, path key first",
    argv: policy,
    stdin: request("reg.example.com/team/app"),
    expect: ok(
      answer("Image", "0s", {
        "https://reg.example.com/v2/team": ["team", "pw-team-0b8e"],
        "reg.example.com": ["alice", "pw-alpha-7f3a"],
      }),
    ),
  },
  {
    name: "policy: glob rule, Registry cache, 5m",
    argv: (d) => [...policy(d), "--cache-duration=5m"],
    stdin: request("build.corp.example/tools/x"),
    expect: ok(answer("Registry", "5m0s", { "*.corp.example": ["bob", "pw-beta-91c2"] })),
  },
  {
    name: "policy: Docker Hub fallback under a path rule",
    argv: policy,
    stdin: request("docker.io/library/nginx"),
    expect: ok(
      answer("Image", "0s", { "https://index.docker.io/v1/": ["hubuser", "pw-hub-55d0"] }),
    ),
  },
  {
    name: "policy: outside the rules, empty answer (v1)",
    argv: (d) => [...policy(d), "--cache-duration=5m"],
    stdin: request("reg.example.com/other/app"),
    expect: ok(emptyAnswer()),
  },
  {
    name: "policy: outside the rules, empty answer (v1beta1)",
    argv: policy,
    stdin: request("quay.io/x", V1BETA1),
    expect: ok(emptyAnswer(V1BETA1)),
  },
  {
    name: "policy: a rule no key answers",
    argv: policy,
    stdin: request("ghcr.io/org/app"),
    expect: ok(emptyAnswer()),
  },
  {
    // JSON.parse in QuickJS must make it an own property too, not the prototype (and so must
    // this test: a computed key, not `__proto__:`, in the object literal).
    name: 'policy: "__proto__" as a registry key',
    argv: (d) => policy(d, "policy-proto.json"),
    stdin: request("__proto__/app"),
    expect: ok(answer("Registry", "0s", { ["__proto__"]: ["proto", "pw-beta-91c2"] })),
  },
  {
    name: "policy: truncated",
    argv: (d) => policy(d, "policy-truncated.json"),
    stdin: request("reg.example.com/team/app"),
    expect: fails("is invalid: not valid JSON (a truncated or foreign file?)"),
  },
  {
    name: "policy: a Docker config given as --policy",
    argv: (d) => policy(d, "credentials.json"),
    stdin: request("reg.example.com/team/app"),
    expect: fails("read it with --credentials"),
  },
  {
    name: "policy: invalid pattern and entry",
    argv: (d) => policy(d, "policy-invalid.json"),
    stdin: request("reg.example.com/team/app"),
    expect: fails('"%invalid%": match image is invalid'),
  },
  {
    name: "policy: missing",
    argv: (d) => policy(d, "missing.json"),
    stdin: request("a/b"),
    expect: fails("cannot read policy file"),
  },
  // Scoped policy (fixtures.ts SCOPED_POLICY): the token's namespace chooses the set. The token
  // payload is read with the hand-written base64url decoder and the engine's JSON.parse, so both
  // builds must agree on every shape of it.
  {
    name: "scoped: team-a's token",
    argv: (d) => policy(d, "scoped.json"),
    stdin: scopedRequest("reg.example.com/app", saToken("team-a")),
    expect: ok(answer("Registry", "0s", { "reg.example.com": ["team-a", "pw-set-a-4c1e"] })),
  },
  {
    name: "scoped: team-b's token",
    argv: (d) => policy(d, "scoped.json"),
    stdin: scopedRequest("reg.example.com/app", saToken("team-b")),
    expect: ok(answer("Registry", "0s", { "reg.example.com": ["team-b", "pw-set-b-73aa"] })),
  },
  {
    name: "scoped: team-a selecting its onlyWhenSelected set",
    argv: (d) => policy(d, "scoped.json"),
    stdin: scopedRequest("reg.example.com/app", saToken("team-a"), {
      "nodecred.io/credentials": "team-a-ci",
    }),
    expect: ok(answer("Registry", "0s", { "reg.example.com": ["team-a-ci", "pw-set-ci-8d2f"] })),
  },
  {
    name: "scoped: team-b selecting team-a is ignored",
    argv: (d) => policy(d, "scoped.json"),
    stdin: scopedRequest("reg.example.com/app", saToken("team-b"), {
      "nodecred.io/credentials": "team-a",
    }),
    expect: ok(answer("Registry", "0s", { "reg.example.com": ["team-b", "pw-set-b-73aa"] })),
  },
  {
    name: "scoped: no token, only the set open to every namespace",
    argv: (d) => policy(d, "scoped.json"),
    stdin: scopedRequest("reg.example.com/app"),
    expect: ok(emptyAnswer()),
  },
  {
    name: "scoped: aud as a string, non-ASCII claims, expired",
    argv: (d) => policy(d, "scoped.json"),
    stdin: scopedRequest(
      "build.corp.example/x",
      jwt({ ...saClaims("team-c"), aud: "nodecred.io", exp: 1, note: "\u00e9\u2603\ud83d\ude00" }),
    ),
    expect: ok(answer("Registry", "0s", { "*.corp.example": ["bob", "pw-beta-91c2"] })),
  },
  {
    name: "scoped: not a JWT",
    argv: (d) => policy(d, "scoped.json"),
    stdin: scopedRequest("reg.example.com/app", `a.${TOKEN_SIGNATURE}`),
    expect: fails("service account token: not a JWT (want three dot-separated parts)"),
  },
  {
    name: "scoped: payload not base64url",
    argv: (d) => policy(d, "scoped.json"),
    stdin: scopedRequest("reg.example.com/app", `a.${TOKEN_SIGNATURE}+/.b`),
    expect: fails("service account token: malformed payload (not base64url)"),
  },
  {
    name: "scoped: payload not UTF-8",
    argv: (d) => policy(d, "scoped.json"),
    stdin: scopedRequest("reg.example.com/app", `a._w.${TOKEN_SIGNATURE}`),
    expect: fails("service account token: malformed payload (not UTF-8)"),
  },
  {
    name: "scoped: payload not JSON",
    argv: (d) => policy(d, "scoped.json"),
    stdin: scopedRequest("reg.example.com/app", jwt(`{"jti":"${TOKEN_MARKER}",`)),
    expect: fails("service account token: malformed payload (not JSON)"),
  },
  {
    name: "scoped: another audience",
    argv: (d) => policy(d, "scoped.json"),
    stdin: scopedRequest("reg.example.com/app", jwt({ ...saClaims("team-a"), aud: ["x"] })),
    expect: fails('service account token: issued for another audience (want "nodecred.io")'),
  },
  {
    name: "scoped: no namespace claim",
    argv: (d) => policy(d, "scoped.json"),
    stdin: scopedRequest("reg.example.com/app", jwt({ aud: "nodecred.io", jti: TOKEN_MARKER })),
    expect: fails("service account token: no kubernetes.io namespace claim"),
  },
  {
    name: "unscoped policy: a bad token is ignored",
    argv: policy,
    stdin: scopedRequest("build.corp.example/x", `a.${TOKEN_SIGNATURE}`),
    expect: ok(answer("Registry", "0s", { "*.corp.example": ["bob", "pw-beta-91c2"] })),
  },
  {
    name: "--check scoped policy",
    argv: (d) => ["--check", ...policy(d, "scoped.json")],
    stdin: "",
    expect: (r) => {
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.includes("is valid: 2 rules, 4 credential sets, 4 credentials\n"));
      assert.ok(r.stdout.includes('  set "default"  (default Secret)\n'), r.stdout);
      for (const pw of PASSWORDS) assert.ok(!r.stdout.includes(pw));
    },
  },
  {
    name: "--check --image --namespace --selected",
    argv: (d) => [
      "--check",
      ...policy(d, "scoped.json"),
      "--image",
      "reg.example.com/app:1",
      "--namespace",
      "team-b",
      "--selected",
      "team-a",
    ],
    stdin: "",
    expect: (r) => {
      assert.equal(r.code, 0, r.stderr);
      assert.ok(
        r.stdout.endsWith(
          "  the selected set is not allowed for this namespace: ignored\n" +
            '  answered from set "team-b" (the first allowed set that answers) with 1 credential, tried in this order:\n' +
            '    key "reg.example.com"\n',
        ),
        r.stdout,
      );
    },
  },
  {
    name: "--version",
    argv: () => ["--version"],
    stdin: "",
    expect: (r) => {
      assert.match(r.stdout, /^nodecred-provider \d+\.\d+\.\d+\n$/);
    },
  },
  {
    name: "--help",
    argv: () => ["--help"],
    stdin: "",
    expect: (r) => {
      assert.ok(r.stdout.startsWith("Usage: nodecred-provider"));
    },
  },
  {
    name: "--check valid",
    argv: (d) => ["--check", ...creds(d)],
    stdin: "",
    expect: (r) => {
      assert.ok(r.code === 0 && r.stdout.includes("is valid: 6 entries"), r.stderr);
    },
  },
  {
    name: "--check policy",
    argv: (d) => ["--check", ...policy(d)],
    stdin: "",
    expect: (r) => {
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.includes("is valid: 5 rules, 5 credentials\n"), r.stdout);
      assert.ok(r.stdout.includes(`\n  "docker.io/library"\n`), r.stdout);
      for (const pw of PASSWORDS) assert.ok(!r.stdout.includes(pw));
    },
  },
  {
    name: "--check --image, normalised, Docker Hub fallback",
    argv: (d) => ["--check", ...policy(d), "--image", "nginx:1.27"],
    stdin: "",
    expect: (r) => {
      assert.equal(r.code, 0, r.stderr);
      assert.ok(
        r.stdout.endsWith(
          'image "nginx:1.27" (the kubelet asks for "docker.io/library/nginx"):\n' +
            '  matches rule "docker.io/library"\n' +
            "  answered with 1 credential, tried in this order (the kubelet's Docker Hub fallback):\n" +
            '    key "https://index.docker.io/v1/"\n',
        ),
        r.stdout,
      );
    },
  },
  {
    name: "--check --image, no rule",
    argv: (d) => ["--check", ...policy(d), "--image", "Upper/app"],
    stdin: "",
    expect: (r) => {
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.includes('image "Upper/app":\n  matches no rule'), r.stdout);
    },
  },
  {
    name: "--check policy problems",
    argv: (d) => ["--check", ...policy(d, "policy-invalid.json")],
    stdin: "",
    expect: (r) => {
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr.split("\n").length, 3, r.stderr);
    },
  },
  {
    name: "--check problems",
    argv: (d) => ["--check", ...creds(d, "bad-auth.json")],
    stdin: "",
    expect: (r) => {
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.ok(r.stderr.includes("not valid base64"));
    },
  },
];

interface Runner {
  readonly bin: string;
  readonly run: (argv: string[], stdin: string) => ProviderRun;
}

// A binary this machine can execute: natively, or a foreign one through qemu-user
// (qemu-user-static, installed by scripts/test-env/setup.sh); otherwise it is left out, and the
// last test fails.
function runnerFor(bin: string): Runner | undefined {
  const direct = (argv: string[], stdin: string): ProviderRun => runProvider(bin, argv, stdin);
  if (spawnSync(bin, ["--version"]).status === 0) return { bin, run: direct };
  const qemu = bin.endsWith("-arm64")
    ? "/usr/bin/qemu-aarch64-static"
    : "/usr/bin/qemu-x86_64-static";
  if (existsSync(qemu) && spawnSync(qemu, [bin, "--version"]).status === 0) {
    return { bin, run: (argv, stdin) => runProvider(qemu, [bin, ...argv], stdin) };
  }
  return undefined;
}

const binaries = [staticBinary("amd64"), staticBinary("arm64")];
const runners = binaries.map(runnerFor).filter((r): r is Runner => r !== undefined);

let dir = "";
const allStderr: string[] = [];
/** Every stdout and stderr: no text of a service-account token may reach either. */
const allOutput: string[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), "nodecred-conformance-"));
  writeFileSync(join(dir, "credentials.json"), CREDENTIALS);
  writeFileSync(join(dir, "policy.json"), POLICY);
  writeFileSync(join(dir, "scoped.json"), SCOPED_POLICY);
  writeFileSync(
    join(dir, "policy-proto.json"),
    formatPolicy(["*", "reg.io"], {
      scoped: false,
      credentials: [
        { key: "__proto__", username: "proto", password: "pw-beta-91c2" },
        { key: "reg.io", username: "u", password: "pw-alpha-7f3a" },
      ],
    }),
  );
  // Cut just after a password: the reader must refuse the file without quoting it.
  writeFileSync(
    join(dir, "policy-truncated.json"),
    POLICY.slice(0, POLICY.indexOf("pw-team-0b8e") + "pw-team-0b8e".length),
  );
  writeFileSync(
    join(dir, "policy-invalid.json"),
    JSON.stringify({
      apiVersion: "nodecred.io/v1",
      kind: "CredentialPolicy",
      matchImages: ["%invalid%"],
      auths: { "r.io": { auth: `${PASSWORDS[3] ?? ""}!` } },
    }),
  );
  writeFileSync(
    join(dir, "broken.json"),
    `{"auths": {"r.io": {"password": "${PASSWORDS[0] ?? ""}"`,
  );
  writeFileSync(
    join(dir, "bad-auth.json"),
    JSON.stringify({ auths: { "r.io": { auth: `${PASSWORDS[1] ?? ""}!` } } }),
  );
  writeFileSync(
    join(dir, "unicode.json"),
    // Written with escapes (\\ud83d\\ude00 etc.) as well as raw UTF-8.
    `{"auths": {"reg.io": {"username": "\u00e9l\u00e8ve \\u2603", "password": "q\\"\\\\\\u0001\\u2028\\ud83d\\ude00"}}}`,
  );
  mkdirSync(join(dir, "sub"));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
  const stderr = allStderr.join("");
  for (const pw of PASSWORDS) {
    assert.ok(!stderr.includes(pw), `stderr leaks ${pw}`);
    assert.ok(!stderr.includes(encodeBase64Utf8(pw)), `stderr leaks base64 of ${pw}`);
  }
  const output = allOutput.join("");
  for (const text of [TOKEN_SIGNATURE, TOKEN_MARKER]) {
    assert.ok(!output.includes(text), `an output holds token text ${text}`);
  }
});

describe("Node bundle and static binaries answer identically", () => {
  for (const c of CASES) {
    test(c.name, () => {
      const argv = c.argv(dir);
      const reference = runProvider(NODE_BUNDLE, argv, c.stdin);
      allStderr.push(reference.stderr);
      allOutput.push(reference.stdout, reference.stderr);
      c.expect(reference);
      for (const runner of runners) {
        const got = runner.run(argv, c.stdin);
        allStderr.push(got.stderr);
        allOutput.push(got.stdout, got.stderr);
        assert.deepEqual(got, reference, runner.bin);
      }
    });
  }
  test("both static binaries (amd64, arm64) were compared", () => {
    assert.deepEqual(
      runners.map((r) => r.bin),
      binaries,
      "a static binary could not execute here (is qemu-user-static installed?)",
    );
  });
});
