// The program as a function (core/run.ts): CLI behaviour, the live policy file, and the failure
// contract — one line on stderr, exit code 1, nothing on stdout — and no password ever on stderr
// (nor, for --check, on stdout).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { encodeBase64Utf8 } from "../../provider/core/base64.ts";
import {
  run,
  type ProgramInputs,
  type ProgramOutput,
  type ReadResult,
} from "../../provider/core/run.ts";
import { DEFAULT_POLICY_PATH, formatPolicy } from "../../provider/core/policy.ts";
import { SELECT_ANNOTATION } from "../../provider/core/scopes.ts";
import { VERSION } from "../../provider/core/version.ts";
import {
  answer,
  CREDENTIALS,
  emptyAnswer,
  PASSWORDS,
  POLICY,
  POLICY_CREDENTIALS,
  POLICY_CREDENTIALS_AS_DOCKER_CONFIG,
  POLICY_RULES,
  request,
  saClaims,
  saToken,
  SCOPED_POLICY,
  scopedRequest,
  jwt,
  TOKEN_MARKER,
  TOKEN_SIGNATURE,
  tokenTexts,
} from "./fixtures.ts";
import { REPO_ROOT } from "./run-provider.ts";

const allStderr: string[] = [];
/** Everything written to stdout: no token text may reach it either. */
const allStdout: string[] = [];
/** Every service-account token sent in a request. */
const tokensSeen: string[] = [];
/** Everything --check printed: it must hold no secret either. */
const allCheckStdout: string[] = [];

function exec(
  argv: string[],
  stdin: ReadResult | string,
  files: Record<string, string> = {},
): ProgramOutput {
  const inputs: ProgramInputs = {
    readStdin: () => (typeof stdin === "string" ? { ok: true, text: stdin } : stdin),
    readFile: (path) => {
      const text = files[path];
      return text === undefined ? { ok: false, code: "ENOENT" } : { ok: true, text };
    },
  };
  if (typeof stdin === "string" && stdin.includes("serviceAccountToken")) {
    const token = (JSON.parse(stdin) as { serviceAccountToken?: unknown }).serviceAccountToken;
    if (typeof token === "string") tokensSeen.push(token);
  }
  const out = run(argv, inputs);
  allStderr.push(out.stderr);
  allStdout.push(out.stdout);
  if (argv.includes("--check")) allCheckStdout.push(out.stdout);
  return out;
}

function assertFailure(out: ProgramOutput, reason: string): void {
  assert.equal(out.exitCode, 1);
  assert.equal(out.stdout, "");
  assert.ok(out.stderr.startsWith("nodecred-provider: "), out.stderr);
  assert.ok(out.stderr.endsWith("\n"));
  assert.equal(out.stderr.split("\n").length, 2, `exactly one line: ${JSON.stringify(out.stderr)}`);
  assert.ok(out.stderr.includes(reason), out.stderr);
}

const V1 = "credentialprovider.kubelet.k8s.io/v1";
const V1BETA1 = "credentialprovider.kubelet.k8s.io/v1beta1";
const FILES = {
  "/etc/nodecred/credentials.json": CREDENTIALS,
  "/etc/nodecred/policy.json": POLICY,
  "/etc/nodecred/scoped.json": SCOPED_POLICY,
  "/etc/nodecred/same-as-policy.json": POLICY_CREDENTIALS_AS_DOCKER_CONFIG,
};
const CRED_ARGS = ["--credentials", "/etc/nodecred/credentials.json"];
const POLICY_ARGS = ["--policy", "/etc/nodecred/policy.json"];

describe("normal mode", () => {
  test("answers a request", () => {
    const out = exec(CRED_ARGS, request("reg.example.com/app"), FILES);
    assert.equal(out.exitCode, 0);
    assert.equal(out.stderr, "");
    const res = JSON.parse(out.stdout) as { auth: Record<string, { password: string }> };
    assert.equal(res.auth["reg.example.com"]?.password, "pw-alpha-7f3a");
  });
  test("the default cache duration is 0s: the kubelet asks again on every pull", () => {
    const out = exec(CRED_ARGS, request("build.corp.example/x"), FILES);
    assert.deepEqual(out, {
      stdout: answer("Registry", "0s", { "*.corp.example": ["bob", "pw-beta-91c2"] }),
      stderr: "",
      exitCode: 0,
    });
  });
  test("--cache-duration 5m: a positive cache for answers with credentials", () => {
    const out = exec(
      [...CRED_ARGS, "--cache-duration", "5m"],
      request("build.corp.example/x"),
      FILES,
    );
    assert.equal(
      out.stdout,
      answer("Registry", "5m0s", { "*.corp.example": ["bob", "pw-beta-91c2"] }),
    );
    assert.equal(
      exec([...CRED_ARGS, "--cache-duration", "5m"], request("quay.io/x"), FILES).stdout,
      emptyAnswer(),
      "an empty answer is never cached",
    );
  });
  test("--credentials=PATH and --cache-duration", () => {
    const out = exec(
      ["--credentials=/etc/nodecred/credentials.json", "--cache-duration", "90s"],
      request("reg.example.com/app"),
      FILES,
    );
    assert.equal(out.exitCode, 0);
    assert.ok(out.stdout.includes('"cacheDuration":"1m30s"'));
  });
});

describe("policy mode", () => {
  test("no flags: the policy at the default path", () => {
    assert.equal(DEFAULT_POLICY_PATH, "/etc/nodecred/credentials/policy.json");
    const out = exec([], request("build.corp.example/x"), { [DEFAULT_POLICY_PATH]: POLICY });
    assert.deepEqual(out, {
      stdout: answer("Registry", "0s", { "*.corp.example": ["bob", "pw-beta-91c2"] }),
      stderr: "",
      exitCode: 0,
    });
  });

  // POLICY: rules reg.example.com/team, *.corp.example, docker.io/library, 10.0.0.5:5000,
  // ghcr.io over keys reg.example.com, reg.example.com/v2/team, *.corp.example, Docker Hub,
  // 10.0.0.5:5000.
  const cases: readonly [string, string, string][] = [
    [
      "inside a path rule: path key first, then host key; Image",
      request("reg.example.com/team/app"),
      answer("Image", "0s", {
        "https://reg.example.com/v2/team": ["team", "pw-team-0b8e"],
        "reg.example.com": ["alice", "pw-alpha-7f3a"],
      }),
    ],
    [
      "same host outside the path rule: empty answer, though a key matches",
      request("reg.example.com/other/app"),
      emptyAnswer(),
    ],
    [
      "glob rule, glob key: Registry",
      request("build.corp.example/tools/x"),
      answer("Registry", "0s", { "*.corp.example": ["bob", "pw-beta-91c2"] }),
    ],
    [
      "Docker Hub fallback inside docker.io/library: Image (a path rule on this host)",
      request("docker.io/library/nginx"),
      answer("Image", "0s", { "https://index.docker.io/v1/": ["hubuser", "pw-hub-55d0"] }),
    ],
    [
      "Docker Hub outside docker.io/library: empty answer, no fallback",
      request("docker.io/user/app"),
      emptyAnswer(),
    ],
    [
      "IPv4 rule with port, password with a colon",
      request("10.0.0.5:5000/x/y"),
      answer("Registry", "0s", { "10.0.0.5:5000": ["carol", "pw:colon-e4"] }),
    ],
    ["the rule's port must match", request("10.0.0.5:5001/x"), emptyAnswer()],
    ["a rule no key answers: empty answer", request("ghcr.io/org/app"), emptyAnswer()],
    ["no rule: empty answer", request("quay.io/x"), emptyAnswer()],
    [
      "no rule, v1beta1: empty answer in the request's version",
      request("quay.io/x", V1BETA1),
      emptyAnswer(V1BETA1),
    ],
    [
      "inside the rules, v1beta1",
      request("build.corp.example/x", V1BETA1),
      answer("Registry", "0s", { "*.corp.example": ["bob", "pw-beta-91c2"] }, V1BETA1),
    ],
  ];
  for (const [name, stdin, stdout] of cases) {
    test(name, () => {
      assert.deepEqual(exec(POLICY_ARGS, stdin, FILES), { stdout, stderr: "", exitCode: 0 });
    });
  }
  test("the empty answer, byte for byte", () => {
    assert.equal(
      exec(POLICY_ARGS, request("quay.io/x"), FILES).stdout,
      `{"kind":"CredentialProviderResponse","apiVersion":"${V1}","cacheKeyType":"Image","cacheDuration":"0s","auth":{}}\n`,
    );
  });

  test("inside the rules, the credentials are those the same Docker config gives", () => {
    const docker = ["--credentials", "/etc/nodecred/same-as-policy.json"];
    const inside = [
      "reg.example.com/team/app",
      "build.corp.example/tools/x",
      "docker.io/library/nginx",
      "10.0.0.5:5000/x/y",
      "ghcr.io/org/app",
    ];
    type Auth = Record<string, { username: string; password: string }>;
    const auth = (argv: string[], image: string): Auth =>
      (JSON.parse(exec(argv, request(image), FILES).stdout) as { auth: Auth }).auth;
    for (const image of inside) {
      assert.deepEqual(auth(POLICY_ARGS, image), auth(docker, image), image);
    }
    // ...and outside them the Docker config would have answered: the rules made the difference.
    for (const image of ["reg.example.com/other/app", "docker.io/user/app"]) {
      assert.deepEqual(auth(POLICY_ARGS, image), {}, image);
      assert.notDeepEqual(auth(docker, image), {}, image);
    }
  });

  test("--cache-duration applies to answers with credentials, never to the empty answer", () => {
    const argv = [...POLICY_ARGS, "--cache-duration", "5m"];
    assert.equal(
      exec(argv, request("build.corp.example/x"), FILES).stdout,
      answer("Registry", "5m0s", { "*.corp.example": ["bob", "pw-beta-91c2"] }),
    );
    assert.equal(exec(argv, request("reg.example.com/other/app"), FILES).stdout, emptyAnswer());
    assert.equal(exec(argv, request("ghcr.io/x"), FILES).stdout, emptyAnswer());
  });

  test("the policy is read on every call: an edited file answers the next request", () => {
    const files: Record<string, string> = { ...FILES };
    assert.equal(exec(POLICY_ARGS, request("quay.io/x"), files).stdout, emptyAnswer());
    files["/etc/nodecred/policy.json"] = formatPolicy([...POLICY_RULES, "quay.io"], {
      scoped: false,
      credentials: [
        ...POLICY_CREDENTIALS,
        { key: "quay.io", username: "q", password: "pw-beta-91c2" },
      ],
    });
    assert.equal(
      exec(POLICY_ARGS, request("quay.io/x"), files).stdout,
      answer("Registry", "0s", { "quay.io": ["q", "pw-beta-91c2"] }),
    );
  });
});

describe("scoped policy: the token's namespace chooses the credential set", () => {
  const SCOPED_ARGS = ["--policy", "/etc/nodecred/scoped.json"];
  const REG = "reg.example.com/app";
  const CORP = "build.corp.example/tools/x";
  const TEAM_A = answer("Registry", "0s", { "reg.example.com": ["team-a", "pw-set-a-4c1e"] });
  const TEAM_A_CI = answer("Registry", "0s", {
    "reg.example.com": ["team-a-ci", "pw-set-ci-8d2f"],
  });
  const TEAM_B = answer("Registry", "0s", { "reg.example.com": ["team-b", "pw-set-b-73aa"] });
  const CORP_DEFAULT = answer("Registry", "0s", { "*.corp.example": ["bob", "pw-beta-91c2"] });
  const select = (set: string): Record<string, string> => ({ [SELECT_ANNOTATION]: set });
  // [name, request, response bytes]
  const cases: readonly [string, string, string][] = [
    ["team-a's token: team-a's account", scopedRequest(REG, saToken("team-a")), TEAM_A],
    ["team-b's token: team-b's account", scopedRequest(REG, saToken("team-b")), TEAM_B],
    ["team-a-dev (pattern team-a-*)", scopedRequest(REG, saToken("team-a-dev")), TEAM_A],
    [
      "another namespace: no set has the image",
      scopedRequest(REG, saToken("team-c")),
      emptyAnswer(),
    ],
    [
      "another namespace: the default set's image",
      scopedRequest(CORP, saToken("team-c")),
      CORP_DEFAULT,
    ],
    ["no token: only the default set", scopedRequest(REG), emptyAnswer()],
    ["no token, the default set's image", scopedRequest(CORP), CORP_DEFAULT],
    [
      "team-a selecting team-a-ci (onlyWhenSelected)",
      scopedRequest(REG, saToken("team-a"), select("team-a-ci")),
      TEAM_A_CI,
    ],
    [
      "team-b selecting team-a: ignored, annotations never grant",
      scopedRequest(REG, saToken("team-b"), select("team-a")),
      TEAM_B,
    ],
    [
      "no token selecting team-a: ignored",
      scopedRequest(REG, undefined, select("team-a")),
      emptyAnswer(),
    ],
    [
      "an expired token is accepted",
      scopedRequest(REG, jwt({ ...saClaims("team-b"), exp: 1 })),
      TEAM_B,
    ],
    [
      "outside the rules the token is not even read",
      scopedRequest("quay.io/x", "not-a-jwt"),
      emptyAnswer(),
    ],
    [
      "v1beta1 (no token fields in that version)",
      scopedRequest(CORP, undefined, undefined, V1BETA1),
      answer("Registry", "0s", { "*.corp.example": ["bob", "pw-beta-91c2"] }, V1BETA1),
    ],
  ];
  for (const [name, stdin, stdout] of cases) {
    test(name, () => {
      assert.deepEqual(exec(SCOPED_ARGS, stdin, FILES), { stdout, stderr: "", exitCode: 0 });
    });
  }

  // A token that cannot be read fails the exec (the kubelet then pulls with what else it has):
  // one line, never any of the token's text.
  const claims = saClaims("team-a");
  const refused: readonly [string, string, string][] = [
    ["not a JWT", "x.y", "service account token: not a JWT (want three dot-separated parts)"],
    [
      "an opaque token holding a secret-looking value",
      `opaque-${TOKEN_SIGNATURE}`,
      "service account token: not a JWT",
    ],
    ["bad base64url", `a.${TOKEN_SIGNATURE}+.b`, "service account token: malformed payload"],
    [
      "payload not JSON",
      jwt(`{"jti":"${TOKEN_MARKER}"`),
      "service account token: malformed payload (not JSON)",
    ],
    [
      "another audience",
      jwt({ ...claims, aud: ["https://kubernetes.default.svc"] }),
      'service account token: issued for another audience (want "nodecred.io")',
    ],
    [
      "no namespace claim",
      jwt({ aud: "nodecred.io", jti: TOKEN_MARKER }),
      "service account token: no kubernetes.io namespace claim",
    ],
  ];
  for (const [name, token, reason] of refused) {
    test(`refused token: ${name}`, () => {
      assertFailure(exec(SCOPED_ARGS, scopedRequest(REG, token), FILES), reason);
    });
  }

  test("an unscoped policy and --credentials ignore the token, even a bad one", () => {
    for (const token of [saToken("team-a"), "x.y", ""]) {
      assert.deepEqual(exec(POLICY_ARGS, scopedRequest(CORP, token), FILES), {
        stdout: CORP_DEFAULT,
        stderr: "",
        exitCode: 0,
      });
      assert.equal(exec(CRED_ARGS, scopedRequest(CORP, token), FILES).stdout, CORP_DEFAULT);
    }
  });

  test("a path key in another allowed set makes the answer Image-keyed", () => {
    // team-x's host key answers reg.example.com/app; team-y's path key would answer
    // reg.example.com/team-y/app instead: a Registry-keyed cache would hand that image team-x's.
    const sets = [
      {
        name: "team-y",
        secret: "y",
        namespaces: ["team-x"],
        onlyWhenSelected: false,
        credentials: [{ key: "reg.example.com/team-y", username: "y", password: "pw-set-b-73aa" }],
      },
      {
        name: "team-x",
        secret: "x",
        namespaces: ["team-x"],
        onlyWhenSelected: false,
        credentials: [{ key: "reg.example.com", username: "x", password: "pw-set-a-4c1e" }],
      },
      {
        name: "zeta",
        secret: "z",
        namespaces: ["zeta"],
        onlyWhenSelected: false,
        credentials: [{ key: "reg.example.com", username: "z", password: "pw-set-ci-8d2f" }],
      },
    ];
    const files = {
      "/p": formatPolicy(["reg.example.com"], { scoped: true, sets }),
    };
    const argv = ["--policy", "/p", "--cache-duration", "5m"];
    assert.equal(
      exec(argv, scopedRequest(REG, saToken("team-x")), files).stdout,
      answer("Image", "5m0s", { "reg.example.com": ["x", "pw-set-a-4c1e"] }),
    );
    assert.equal(
      exec(argv, scopedRequest("reg.example.com/team-y/app", saToken("team-x")), files).stdout,
      answer("Image", "5m0s", { "reg.example.com/team-y": ["y", "pw-set-b-73aa"] }),
    );
    // Sets the namespace may not use do not count: Registry, as for an unscoped file.
    assert.equal(
      exec(argv, scopedRequest(REG, saToken("zeta")), files).stdout,
      answer("Registry", "5m0s", { "reg.example.com": ["z", "pw-set-ci-8d2f"] }),
    );
  });
});

describe("bad input: one line on stderr, exit 1, empty stdout", () => {
  const cases: readonly [string, string[], ReadResult | string, Record<string, string>, string][] =
    [
      ["stdin not JSON", CRED_ARGS, "hello", FILES, "request is not valid JSON"],
      ["empty stdin", CRED_ARGS, "", FILES, "request is not valid JSON"],
      [
        "stdin unreadable",
        CRED_ARGS,
        { ok: false, code: "EIO" },
        FILES,
        "cannot read the request from stdin: input/output error",
      ],
      [
        "wrong kind",
        CRED_ARGS,
        JSON.stringify({ kind: "Pod", apiVersion: V1, image: "a" }),
        FILES,
        'request kind is "Pod"',
      ],
      [
        "unknown apiVersion",
        CRED_ARGS,
        request("a/b", "credentialprovider.kubelet.k8s.io/v9"),
        FILES,
        "is not supported",
      ],
      [
        "missing image",
        CRED_ARGS,
        JSON.stringify({ kind: "CredentialProviderRequest", apiVersion: V1 }),
        FILES,
        "request image must be a non-empty string",
      ],
      [
        "credentials file missing",
        ["--credentials", "/nope.json"],
        request("a/b"),
        FILES,
        'cannot read credentials file "/nope.json": no such file or directory',
      ],
      [
        "credentials not JSON (holding a password)",
        CRED_ARGS,
        request("a/b"),
        {
          "/etc/nodecred/credentials.json": `{"auths": {"r.io": {"password": "${PASSWORDS[0] ?? ""}"`,
        },
        "is invalid: not valid JSON",
      ],
      [
        "credentials with bad auth",
        CRED_ARGS,
        request("a/b"),
        {
          "/etc/nodecred/credentials.json": JSON.stringify({
            auths: { "r.io": { auth: `${PASSWORDS[1] ?? ""}!` } },
          }),
        },
        'auths["r.io"].auth: not valid base64',
      ],
      [
        "credentials auth without colon",
        CRED_ARGS,
        request("a/b"),
        {
          "/etc/nodecred/credentials.json": JSON.stringify({
            auths: { "r.io": { auth: encodeBase64Utf8(PASSWORDS[2] ?? "") } },
          }),
        },
        "(no colon)",
      ],
      [
        "credentials with a secret in a key's userinfo",
        CRED_ARGS,
        request("a/b"),
        {
          "/etc/nodecred/credentials.json": JSON.stringify({
            auths: { [`u:${PASSWORDS[3] ?? ""}@r.io`]: {} },
          }),
        },
        "REDACTED@r.io",
      ],
      [
        "several problems, still one line",
        CRED_ARGS,
        request("a/b"),
        {
          "/etc/nodecred/credentials.json": JSON.stringify({
            auths: { a: {}, b: { auth: "x" }, c: "d\ne" },
          }),
        },
        "; ",
      ],
      [
        "no flags: the default policy path, missing here",
        [],
        request("a/b"),
        FILES,
        `cannot read policy file "${DEFAULT_POLICY_PATH}": no such file or directory`,
      ],
      [
        "--policy and --credentials",
        [...POLICY_ARGS, ...CRED_ARGS],
        request("a/b"),
        FILES,
        "give --policy or --credentials, not both",
      ],
      ["--policy empty", ["--policy="], request("a/b"), FILES, "--policy must not be empty"],
      [
        "--credentials empty",
        ["--credentials", ""],
        request("a/b"),
        FILES,
        "--credentials must not be empty",
      ],
      [
        "--image without --check",
        [...POLICY_ARGS, "--image", "nginx"],
        request("a/b"),
        FILES,
        "--image is only for --check",
      ],
      [
        "--namespace without --check",
        [...POLICY_ARGS, "--namespace", "team-a"],
        request("a/b"),
        FILES,
        "--namespace is only for --check --image",
      ],
      [
        "--check --namespace without --image",
        ["--check", ...POLICY_ARGS, "--namespace", "team-a"],
        "",
        FILES,
        "--namespace is only for --check --image",
      ],
      [
        "--check --selected without --image",
        ["--check", ...POLICY_ARGS, "--selected=team-a"],
        "",
        FILES,
        "--selected is only for --check --image",
      ],
      [
        "--namespace with a Docker config",
        ["--check", ...CRED_ARGS, "--image", "nginx", "--namespace", "team-a"],
        "",
        FILES,
        "--namespace needs a policy file (a Docker config has no credential sets)",
      ],
      [
        "--namespace not a namespace name",
        ["--check", ...POLICY_ARGS, "--image", "nginx", "--namespace", "Team_A"],
        "",
        FILES,
        '--namespace "Team_A" is not a namespace name',
      ],
      [
        "--selected empty",
        ["--check", ...POLICY_ARGS, "--image", "nginx", "--selected="],
        "",
        FILES,
        "--selected must not be empty",
      ],
      [
        "--check --image empty",
        ["--check", ...POLICY_ARGS, "--image="],
        "",
        FILES,
        "--image must not be empty",
      ],
      [
        "policy file missing",
        ["--policy", "/nope.json"],
        request("a/b"),
        FILES,
        'cannot read policy file "/nope.json": no such file or directory',
      ],
      [
        "policy truncated (holding a password)",
        POLICY_ARGS,
        request("reg.example.com/team/app"),
        {
          "/etc/nodecred/policy.json": POLICY.slice(
            0,
            POLICY.indexOf("pw-team-0b8e") + "pw-team-0b8e".length,
          ),
        },
        'policy file "/etc/nodecred/policy.json" is invalid: not valid JSON (a truncated or foreign file?)',
      ],
      [
        "policy path holding a Docker config",
        ["--policy", "/etc/nodecred/credentials.json"],
        request("reg.example.com/app"),
        FILES,
        "not a nodecred policy file but a Docker config",
      ],
      [
        "policy path holding foreign JSON",
        POLICY_ARGS,
        request("reg.example.com/app"),
        { "/etc/nodecred/policy.json": JSON.stringify({ apiVersion: "v1", kind: "ConfigMap" }) },
        "is invalid: not a nodecred policy file (want",
      ],
      [
        "policy with several problems, still one line",
        POLICY_ARGS,
        request("reg.example.com/app"),
        {
          "/etc/nodecred/policy.json": JSON.stringify({
            apiVersion: "nodecred.io/v1",
            kind: "CredentialPolicy",
            matchImages: ["%invalid%"],
            auths: { "r.io": { auth: `${PASSWORDS[1] ?? ""}!` } },
          }),
        },
        'matchImages[0] "%invalid%": match image is invalid: invalid URL escape "%in"; auths["r.io"].auth: not valid base64',
      ],
      [
        "unknown flag",
        [...CRED_ARGS, "--verbose"],
        request("a/b"),
        FILES,
        'unexpected argument "--verbose"',
      ],
      [
        "flag without value",
        ["--credentials"],
        request("a/b"),
        FILES,
        "--credentials needs a value",
      ],
      [
        "repeated flag",
        [...CRED_ARGS, ...CRED_ARGS],
        request("a/b"),
        FILES,
        "--credentials is given more than once",
      ],
      [
        "bad duration",
        [...CRED_ARGS, "--cache-duration", "5 minutes"],
        request("a/b"),
        FILES,
        "--cache-duration",
      ],
      [
        "negative duration",
        [...CRED_ARGS, "--cache-duration=-5m"],
        request("a/b"),
        FILES,
        "--cache-duration",
      ],
      [
        "newline in an argument stays on one line",
        ["--credentials", "/a\nb"],
        request("a/b"),
        FILES,
        'cannot read credentials file "/a\\nb"',
      ],
    ];
  for (const [name, argv, stdin, files, reason] of cases) {
    test(name, () => {
      assertFailure(exec(argv, stdin, files), reason);
    });
  }
});

describe("--check, --version, --help", () => {
  test("--check: a valid file lists keys in lookup order, never secrets", () => {
    const out = exec(["--check", ...CRED_ARGS], "", FILES);
    assert.equal(out.exitCode, 0);
    assert.equal(out.stderr, "");
    assert.ok(
      out.stdout.startsWith(
        'credentials file "/etc/nodecred/credentials.json" is valid: 6 entries\n',
      ),
    );
    assert.ok(
      out.stdout.includes('  reg.example.com/team  (key "https://reg.example.com/v2/team")\n'),
    );
    for (const pw of PASSWORDS) assert.ok(!out.stdout.includes(pw));
    assert.ok(!out.stdout.includes("alice"), "no usernames either");
  });
  test("--check: problems one per line on stderr, exit 1", () => {
    const bad = JSON.stringify({ auths: { a: {}, b: { auth: PASSWORDS[4] ?? "" } } });
    const out = exec(["--check", ...CRED_ARGS], "", { "/etc/nodecred/credentials.json": bad });
    assert.equal(out.exitCode, 1);
    assert.equal(out.stdout, "");
    assert.equal(out.stderr.trimEnd().split("\n").length, 2);
  });
  test("--check: unreadable file", () => {
    assertFailure(exec(["--check", "--credentials", "/nope"], "", {}), "no such file or directory");
  });
  test("--check --policy: the rules and the keys in lookup order, never secrets", () => {
    const out = exec(["--check", ...POLICY_ARGS], "", FILES);
    assert.deepEqual(out, {
      stdout:
        'policy file "/etc/nodecred/policy.json" is valid: 5 rules, 5 credentials\n' +
        "rules (matchImages; an image no rule matches gets an empty answer):\n" +
        '  "reg.example.com/team"\n  "*.corp.example"\n  "docker.io/library"\n  "10.0.0.5:5000"\n  "ghcr.io"\n' +
        "credentials in the kubelet's lookup order:\n" +
        '  reg.example.com/team  (key "https://reg.example.com/v2/team")\n' +
        '  reg.example.com  (key "reg.example.com")\n' +
        '  index.docker.io  (key "https://index.docker.io/v1/")\n' +
        '  10.0.0.5:5000  (key "10.0.0.5:5000")\n' +
        '  *.corp.example  (key "*.corp.example")\n',
      stderr: "",
      exitCode: 0,
    });
    for (const user of ["alice", "bob", "hubuser", "carol"]) {
      assert.ok(!out.stdout.includes(user), `no username ${user}`);
    }
  });
  test("--check alone checks the policy at the default path", () => {
    const out = exec(["--check"], "", { [DEFAULT_POLICY_PATH]: POLICY });
    assert.equal(out.exitCode, 0);
    assert.ok(out.stdout.startsWith(`policy file "${DEFAULT_POLICY_PATH}" is valid: 5 rules`));
  });
  test("--check --policy: problems one per line on stderr, exit 1", () => {
    const bad = JSON.stringify({
      apiVersion: "nodecred.io/v1",
      kind: "CredentialPolicy",
      matchImages: [],
      auths: { "r.io": { auth: PASSWORDS[4] ?? "" } },
    });
    const out = exec(["--check", ...POLICY_ARGS], "", { "/etc/nodecred/policy.json": bad });
    assert.deepEqual(out, {
      stdout: "",
      stderr:
        'nodecred-provider: policy file "/etc/nodecred/policy.json": matchImages: is empty\n' +
        'nodecred-provider: policy file "/etc/nodecred/policy.json": auths["r.io"].auth: not valid base64\n',
      exitCode: 1,
    });
  });

  describe("--check --image: which rule, which keys", () => {
    const cases: readonly [string, string[], string, string][] = [
      [
        "no rule matches",
        POLICY_ARGS,
        "quay.io/x",
        'image "quay.io/x":\n' +
          "  matches no rule: empty answer, not cached (the kubelet pulls without nodecred's credentials)\n",
      ],
      [
        "a key matches but no rule does",
        POLICY_ARGS,
        "reg.example.com/other/app:1",
        'image "reg.example.com/other/app:1" (the kubelet asks for "reg.example.com/other/app"):\n' +
          "  matches no rule: empty answer, not cached (the kubelet pulls without nodecred's credentials)\n",
      ],
      [
        "a rule matches, no key does",
        POLICY_ARGS,
        "ghcr.io/org/app:1",
        'image "ghcr.io/org/app:1" (the kubelet asks for "ghcr.io/org/app"):\n' +
          '  matches rule "ghcr.io"\n' +
          "  no credentials key matches it: empty answer, not cached\n",
      ],
      [
        "a rule matches, keys answer in lookup order",
        POLICY_ARGS,
        "reg.example.com/team/app",
        'image "reg.example.com/team/app":\n' +
          '  matches rule "reg.example.com/team"\n' +
          "  answered with 2 credentials, tried in this order:\n" +
          '    key "https://reg.example.com/v2/team"\n' +
          '    key "reg.example.com"\n',
      ],
      [
        "normalised like the kubelet, Docker Hub fallback",
        POLICY_ARGS,
        "nginx:1.27",
        'image "nginx:1.27" (the kubelet asks for "docker.io/library/nginx"):\n' +
          '  matches rule "docker.io/library"\n' +
          "  answered with 1 credential, tried in this order (the kubelet's Docker Hub fallback):\n" +
          '    key "https://index.docker.io/v1/"\n',
      ],
      [
        "a digest is dropped too",
        POLICY_ARGS,
        `build.corp.example/tools/x@sha256:${"ab".repeat(32)}`,
        `image "build.corp.example/tools/x@sha256:${"ab".repeat(32)}" (the kubelet asks for "build.corp.example/tools/x"):\n` +
          '  matches rule "*.corp.example"\n' +
          "  answered with 1 credential, tried in this order:\n" +
          '    key "*.corp.example"\n',
      ],
      [
        "a Docker config has no rules: keys only",
        CRED_ARGS,
        "reg.example.com/team/app",
        'image "reg.example.com/team/app":\n' +
          "  answered with 2 credentials, tried in this order:\n" +
          '    key "https://reg.example.com/v2/team"\n' +
          '    key "reg.example.com"\n',
      ],
      [
        "a Docker config, no key",
        CRED_ARGS,
        "quay.io/x",
        'image "quay.io/x":\n  no credentials key matches it: empty answer, not cached\n',
      ],
    ];
    for (const [name, source, image, tail] of cases) {
      test(name, () => {
        const out = exec(["--check", ...source, "--image", image], "", FILES);
        assert.equal(out.exitCode, 0, out.stderr);
        assert.equal(out.stderr, "");
        const at = out.stdout.lastIndexOf('\nimage "') + 1;
        assert.ok(at > 0, out.stdout);
        assert.equal(out.stdout.slice(at), tail);
        // The part before is --check without --image, unchanged.
        assert.equal(out.stdout.slice(0, at), exec(["--check", ...source], "", FILES).stdout);
      });
    }
    test("an invalid policy fails as --check does", () => {
      const out = exec(["--check", ...POLICY_ARGS, "--image", "nginx"], "", {
        "/etc/nodecred/policy.json": CREDENTIALS,
      });
      assert.equal(out.exitCode, 1);
      assert.equal(out.stdout, "");
      assert.ok(out.stderr.includes("read it with --credentials"), out.stderr);
    });
  });

  test("--check of a scoped policy: the sets, their Secrets, namespaces and keys, never secrets", () => {
    const out = exec(["--check", "--policy", "/etc/nodecred/scoped.json"], "", FILES);
    assert.deepEqual(out, {
      stdout:
        'policy file "/etc/nodecred/scoped.json" is valid: 2 rules, 4 credential sets, 4 credentials\n' +
        "rules (matchImages; an image no rule matches gets an empty answer):\n" +
        '  "reg.example.com"\n  "*.corp.example"\n' +
        "credential sets (an image is answered from the set its ServiceAccount selects, else from the first allowed one that answers):\n" +
        '  set "team-a"  Secret "team-a-registry"\n' +
        '    namespaces: "team-a", "team-a-*"\n' +
        "    onlyWhenSelected: no\n" +
        "    credentials in the kubelet's lookup order:\n" +
        '      reg.example.com  (key "reg.example.com")\n' +
        '  set "team-a-ci"  Secret "team-a-ci-registry"\n' +
        '    namespaces: "team-a"\n' +
        "    onlyWhenSelected: yes (only for a ServiceAccount annotated nodecred.io/credentials: team-a-ci)\n" +
        "    credentials in the kubelet's lookup order:\n" +
        '      reg.example.com  (key "reg.example.com")\n' +
        '  set "team-b"  Secret "team-b-registry"\n' +
        '    namespaces: "team-b"\n' +
        "    onlyWhenSelected: no\n" +
        "    credentials in the kubelet's lookup order:\n" +
        '      reg.example.com  (key "reg.example.com")\n' +
        '  set "default"  (default Secret)\n' +
        '    namespaces: "*"\n' +
        "    onlyWhenSelected: no\n" +
        "    credentials in the kubelet's lookup order:\n" +
        '      *.corp.example  (key "*.corp.example")\n',
      stderr: "",
      exitCode: 0,
    });
    assert.ok(!out.stdout.includes("bob"), "no usernames");
  });
  test("--check of a scoped policy: a set without credentials or namespaces", () => {
    const text = formatPolicy(["reg.io"], {
      scoped: true,
      sets: [
        { name: "default", secret: null, namespaces: [], onlyWhenSelected: false, credentials: [] },
      ],
    });
    const out = exec(["--check", "--policy", "/p"], "", { "/p": text });
    assert.equal(out.exitCode, 0);
    assert.ok(
      out.stdout.endsWith(
        '  set "default"  (default Secret)\n    namespaces: none\n    onlyWhenSelected: no\n' +
          "    no credentials (it answers no image)\n",
      ),
      out.stdout,
    );
  });

  describe("--check --image --namespace --selected: the decision for a pod", () => {
    const SCOPED = ["--policy", "/etc/nodecred/scoped.json"];
    const head = (image: string): string => `image ${JSON.stringify(image)}:\n`;
    const cases: readonly [string, string[], string, string][] = [
      [
        "team-a's pod",
        [...SCOPED, "--namespace", "team-a"],
        "reg.example.com/app",
        '  matches rule "reg.example.com"\n' +
          '  namespace "team-a"\n' +
          '  allowed sets: "team-a", "team-a-ci", "default"\n' +
          '  answered from set "team-a" (the first allowed set that answers) with 1 credential, tried in this order:\n' +
          '    key "reg.example.com"\n',
      ],
      [
        "team-a's pod selecting team-a-ci",
        [...SCOPED, "--namespace", "team-a", "--selected", "team-a-ci"],
        "reg.example.com/app",
        '  matches rule "reg.example.com"\n' +
          '  namespace "team-a"\n' +
          '  selected set "team-a-ci" (nodecred.io/credentials)\n' +
          '  allowed sets: "team-a", "team-a-ci", "default"\n' +
          '  answered from set "team-a-ci" (selected) with 1 credential, tried in this order:\n' +
          '    key "reg.example.com"\n',
      ],
      [
        "team-b's pod selecting team-a: ignored",
        [...SCOPED, "--namespace", "team-b", "--selected", "team-a"],
        "reg.example.com/app",
        '  matches rule "reg.example.com"\n' +
          '  namespace "team-b"\n' +
          '  selected set "team-a" (nodecred.io/credentials)\n' +
          '  allowed sets: "team-b", "default"\n' +
          "  the selected set is not allowed for this namespace: ignored\n" +
          '  answered from set "team-b" (the first allowed set that answers) with 1 credential, tried in this order:\n' +
          '    key "reg.example.com"\n',
      ],
      [
        "selecting a set that does not exist",
        [...SCOPED, "--namespace", "team-b", "--selected", "nope"],
        "reg.example.com/app",
        '  matches rule "reg.example.com"\n' +
          '  namespace "team-b"\n' +
          '  selected set "nope" (nodecred.io/credentials)\n' +
          '  allowed sets: "team-b", "default"\n' +
          "  the selected set does not exist: ignored\n" +
          '  answered from set "team-b" (the first allowed set that answers) with 1 credential, tried in this order:\n' +
          '    key "reg.example.com"\n',
      ],
      [
        "selecting a set without a key for the image",
        [...SCOPED, "--namespace", "team-a", "--selected", "team-a-ci"],
        "build.corp.example/x",
        '  matches rule "*.corp.example"\n' +
          '  namespace "team-a"\n' +
          '  selected set "team-a-ci" (nodecred.io/credentials)\n' +
          '  allowed sets: "team-a", "team-a-ci", "default"\n' +
          "  the selected set has no credentials for it: the other sets are tried\n" +
          '  answered from set "default" (the first allowed set that answers) with 1 credential, tried in this order:\n' +
          '    key "*.corp.example"\n',
      ],
      [
        "no --namespace: a pod without a token",
        SCOPED,
        "reg.example.com/app",
        '  matches rule "reg.example.com"\n' +
          "  no namespace (a pod without a service account token; give --namespace): only sets open to every namespace\n" +
          '  allowed sets: "default"\n' +
          "  no allowed set answers it: empty answer, not cached\n",
      ],
      [
        "a namespace no set admits",
        [...SCOPED, "--namespace", "kube-system"],
        "reg.example.com/app",
        '  matches rule "reg.example.com"\n' +
          '  namespace "kube-system"\n' +
          '  allowed sets: "default"\n' +
          "  no allowed set answers it: empty answer, not cached\n",
      ],
      [
        "outside the rules, scope does not matter",
        [...SCOPED, "--namespace", "team-a"],
        "quay.io/x",
        "  matches no rule: empty answer, not cached (the kubelet pulls without nodecred's credentials)\n",
      ],
      [
        "an unscoped policy says so",
        [...POLICY_ARGS, "--namespace", "team-a", "--selected", "x"],
        "build.corp.example/x",
        '  matches rule "*.corp.example"\n' +
          "  the policy is not scoped: every namespace gets this answer\n" +
          "  answered with 1 credential, tried in this order:\n" +
          '    key "*.corp.example"\n',
      ],
    ];
    for (const [name, argv, image, tail] of cases) {
      test(name, () => {
        const out = exec(["--check", ...argv, "--image", image], "", FILES);
        assert.equal(out.exitCode, 0, out.stderr);
        assert.equal(out.stderr, "");
        const at = out.stdout.lastIndexOf('\nimage "') + 1;
        assert.ok(at > 0, out.stdout);
        assert.equal(out.stdout.slice(at), head(image) + tail);
      });
    }
  });

  test("--check with --cache-duration is a usage error", () => {
    assertFailure(
      exec(["--check", ...CRED_ARGS, "--cache-duration", "5m"], "", FILES),
      "no meaning with --check",
    );
  });
  test("--version", () => {
    assert.deepEqual(exec(["--version"], ""), {
      stdout: `nodecred-provider ${VERSION}\n`,
      stderr: "",
      exitCode: 0,
    });
  });
  test("--help wins over everything", () => {
    const out = exec(["--help", "--bogus"], "");
    assert.equal(out.exitCode, 0);
    assert.ok(out.stdout.startsWith("Usage: nodecred-provider"));
  });
  test("version matches package.json", () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      version: string;
    };
    assert.equal(VERSION, pkg.version);
  });
});

after(() => {
  // Runs after every case above: no password, and no auth value holding one, reached stderr or
  // the output of --check; no text of a service-account token reached any output.
  const stderr = allStderr.join("");
  const check = allCheckStdout.join("");
  assert.ok(stderr.length > 0 && check.length > 0);
  const everything = stderr + allStdout.join("");
  assert.ok(tokensSeen.length > 10);
  for (const token of tokensSeen) {
    if (token.length > 8) assert.ok(!everything.includes(token), "an output holds a token");
    for (const part of tokenTexts(token)) {
      assert.ok(!everything.includes(part), `an output holds token text ${part}`);
    }
  }
  for (const pw of PASSWORDS) {
    assert.ok(!stderr.includes(pw), `stderr leaks ${pw}`);
    assert.ok(!stderr.includes(encodeBase64Utf8(pw)), `stderr leaks base64 of ${pw}`);
    assert.ok(!check.includes(pw), `--check leaks ${pw}`);
    assert.ok(!check.includes(encodeBase64Utf8(pw)), `--check leaks base64 of ${pw}`);
  }
});
