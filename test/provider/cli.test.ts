// The program as a function (core/run.ts): CLI behaviour and the failure contract — one line on
// stderr, exit code 1, nothing on stdout — and no password ever on stderr.

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
import { VERSION } from "../../provider/core/version.ts";
import { CREDENTIALS, PASSWORDS, request } from "./fixtures.ts";
import { REPO_ROOT } from "./run-provider.ts";

const allStderr: string[] = [];

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
  const out = run(argv, inputs);
  allStderr.push(out.stderr);
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

const FILES = { "/etc/nodecred/credentials.json": CREDENTIALS };
const CRED_ARGS = ["--credentials", "/etc/nodecred/credentials.json"];

describe("normal mode", () => {
  test("answers a request", () => {
    const out = exec(CRED_ARGS, request("reg.example.com/app"), FILES);
    assert.equal(out.exitCode, 0);
    assert.equal(out.stderr, "");
    const res = JSON.parse(out.stdout) as { auth: Record<string, { password: string }> };
    assert.equal(res.auth["reg.example.com"]?.password, "pw-alpha-7f3a");
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

describe("bad input: one line on stderr, exit 1, empty stdout", () => {
  const V1 = "credentialprovider.kubelet.k8s.io/v1";
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
      ["no --credentials", [], request("a/b"), FILES, "--credentials PATH is required"],
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
  // Runs after every case above: no password, and no auth value holding one, reached stderr.
  const stderr = allStderr.join("");
  assert.ok(stderr.length > 0);
  for (const pw of PASSWORDS) {
    assert.ok(!stderr.includes(pw), `stderr leaks ${pw}`);
    assert.ok(!stderr.includes(encodeBase64Utf8(pw)), `stderr leaks base64 of ${pw}`);
  }
});
