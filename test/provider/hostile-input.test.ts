// Hostile or huge input costs bounded CPU and memory, and odd file descriptors never hang the
// provider or let it exit 0 without an answer:
//  - the glob matcher and the keyring lookup do work in proportion to their input (counted with
//    globWork, never timed: timings belong in scripts/bench-provider);
//  - the largest accepted input is answered; the failure line stays one short line;
//  - real processes, every build (Node bundle, static binaries): the policy file as a FIFO, a
//    directory, a device, a socket, a file over the limit; stdin over the limit; a hostile
//    service-account token; stdout closed, a pipe without a reader, a full device.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  closeSync,
  constants,
  existsSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { globWork, goFilepathMatch, isWellFormedGlob } from "../../provider/core/glob.ts";
import { parseGoUrl } from "../../provider/core/go-url.ts";
import {
  buildKeyring,
  lookup,
  normalizeKey,
  type Credential,
} from "../../provider/core/keyring.ts";
import { formatPolicy } from "../../provider/core/policy.ts";
import {
  MAX_FILE_BYTES,
  MAX_REQUEST_BYTES,
  run,
  STDOUT_FAILURE,
  type ProgramOutput,
} from "../../provider/core/run.ts";
import { isPlainHost, parseSchemelessUrl } from "../../provider/core/url-match.ts";
import { encodeUtf8, utf8ByteString } from "../../provider/core/utf8.ts";
import {
  answer,
  emptyAnswer,
  jwt,
  request,
  saClaims,
  SCOPED_POLICY,
  scopedRequest,
} from "./fixtures.ts";
import { LARGE_IMAGE, largeInput } from "./large-input.ts";
import { NODE_BUNDLE, staticBinary } from "./run-provider.ts";

/** Glob work (bytes examined) done by f. */
function work(f: () => unknown): number {
  const before = globWork();
  f();
  return globWork() - before;
}

const N = 100_000;
const a = (n: number): string => "a".repeat(n);

describe("glob: work in proportion to pattern + name", () => {
  // [name, pattern, name, Go's answer]; each must cost at most LINEAR x (pattern + name).
  const LINEAR = 4;
  const cases: readonly [string, string, string, ReturnType<typeof goFilepathMatch>][] = [
    ["long literal, equal", a(N), a(N), "match"],
    ["long literal, differs at the end", a(N), a(N - 1) + "b", "no-match"],
    ["long literal with a class at the end", a(N) + "[b]", a(N) + "b", "match"],
    ["many *a chunks vs aaa...b", "*a".repeat(N / 2), a(N - 1) + "b", "no-match"],
    ["many *a chunks, last *b, vs aaa...", "*a".repeat(N / 2 - 1) + "*b", a(N), "no-match"],
    ["many *a chunks vs aaa...", "*a".repeat(N / 2), a(N), "match"],
    ["many [a] classes", "[a]".repeat(N / 4), a(N / 4), "match"],
    ["many ? runes", "?".repeat(N), "\u00e9".repeat(N), "match"],
    ["one long class", `[${a(N)}]x`, "ax", "match"],
    ["one long negated range class", `[^${"b-c".repeat(N / 3)}]`, "a", "match"],
    ["unclosed classes", "[".repeat(N), a(N), "bad-pattern"],
    ["unclosed class holding stars", "x[" + "*".repeat(N), a(N), "bad-pattern"],
    ["escapes", "\\a".repeat(N / 2), a(N / 2), "match"],
    ["trailing * over a long name", "*", a(N), "match"],
    ["non-ASCII literal", "\u20ac".repeat(N / 3), "\u20ac".repeat(N / 3), "match"],
    ["star before a long literal that matches at once", "*" + a(N), a(N), "match"],
  ];
  for (const [name, pattern, value, want] of cases) {
    test(name, () => {
      let got: string | undefined;
      const w = work(() => (got = goFilepathMatch(pattern, value)));
      assert.equal(got, want);
      const bound = LINEAR * (pattern.length + value.length) * 3; // x3: UTF-8 bytes per unit
      assert.ok(w <= bound, `${String(w)} steps for ${String(pattern.length + value.length)}`);
    });
  }

  test("isWellFormedGlob reads a pattern a bounded number of times", () => {
    for (const p of ["[".repeat(N), `[${a(N)}]`, "*a".repeat(N / 2), "\\".repeat(N), `[${a(N)}`]) {
      const w = work(() => isWellFormedGlob(p));
      assert.ok(w <= 4 * p.length, `${String(w)} steps for ${String(p.length)}`);
    }
    assert.equal(isWellFormedGlob(`[${a(N)}]`), true);
    assert.equal(isWellFormedGlob(`*[${a(N)}`), false);
  });

  // Go retries a * chunk at every offset of the name: len(name) x len(chunk) at worst, inherent in
  // filepath.Match. The counter must show that (it measures what it claims), and nothing beyond.
  test("a * chunk that almost matches everywhere: Go's own n x m, no more", () => {
    const n = 2000;
    const pattern = `*${a(n)}b`;
    let got: string | undefined;
    const w = work(() => (got = goFilepathMatch(pattern, a(n))));
    assert.equal(got, "no-match");
    assert.ok(w > 4 * 3 * (pattern.length + n), "the quadratic case is counted as such");
    assert.ok(w <= (n + 2) * (n + 2) + 4 * (pattern.length + n), `${String(w)} steps`);
  });
});

test("the matcher's UTF-8 is Node's (lone surrogates as U+FFFD)", () => {
  for (const s of [
    "",
    "ascii",
    "\u00e9t\u00e9",
    "\u20ac",
    "\u{1f600}",
    "\ud800x",
    "x\udc00",
    "\udbff\udfff",
  ]) {
    assert.deepEqual(encodeUtf8(s), [...Buffer.from(s, "utf8")], JSON.stringify(s));
    assert.equal(utf8ByteString(s), Buffer.from(s, "utf8").toString("latin1"), JSON.stringify(s));
  }
});

describe("keyring: a lookup costs about the size of the keys", () => {
  test("one very long key among many: each lookup reads it a bounded number of times", () => {
    const long = `${a(1 << 20)}.example.com`;
    const creds: Credential[] = [{ key: long, username: "l", password: "p" }];
    for (let i = 0; i < 5000; i++) {
      creds.push({ key: `k${String(i)}.example.com`, username: "u", password: "p" });
    }
    creds.push({ key: "reg.example.com", username: "alice", password: "p" });
    const size = creds.reduce((s, c) => s + c.key.length, 0);
    const keyring = buildKeyring(creds);
    for (let round = 0; round < 3; round++) {
      let found: string[] = [];
      const w = work(() => (found = lookup(keyring, LARGE_IMAGE).credentials.map((c) => c.key)));
      assert.deepEqual(found, ["reg.example.com"]);
      assert.ok(w <= 2 * size, `${String(w)} glob steps for ${String(size)} bytes of keys`);
    }
  });

  test("70000 credentials under one normalised key are all returned (no argument overflow)", () => {
    const creds: Credential[] = [];
    for (let i = 0; i < 70_000; i++) {
      creds.push({ key: `u${String(i)}@reg.example.com`, username: "u", password: "p" });
    }
    const found = lookup(buildKeyring(creds), "reg.example.com/app");
    assert.equal(found.credentials.length, 70_000);
    assert.equal(lookup(buildKeyring(creds), "other.example.com/app").credentials.length, 0);
  });

  // The parser is skipped for plain host names: what it would return is the name itself.
  test("plain host names parse to themselves, so the parser may be skipped", () => {
    for (const s of ["reg.io", "*.corp.example", "a", ".", "..", "-", "_", "A-Z_0.9", "*"]) {
      assert.equal(isPlainHost(s), true, s);
      assert.deepEqual(parseGoUrl("https://" + s), { ok: true, url: { host: s, path: "" } }, s);
      assert.equal(normalizeKey(s), s);
      assert.deepEqual(parseSchemelessUrl(s), {
        ok: true,
        url: { hostParts: s.split("."), port: "", path: "" },
      });
    }
    for (const s of ["", "reg.io:5000", "reg.io/v2/", "u@reg.io", "[::1]", "a%41", "a b", "é"]) {
      assert.equal(isPlainHost(s), false, s);
    }
  });
});

function runPure(argv: string[], stdin: string, files: Record<string, string>): ProgramOutput {
  return run(argv, {
    readStdin: () => ({ ok: true, text: stdin }),
    readFile: (path) => {
      const text = files[path];
      return text === undefined ? { ok: false, code: "ENOENT" } : { ok: true, text };
    },
  });
}

function assertOneShortLine(out: ProgramOutput): void {
  assert.equal(out.exitCode, 1);
  assert.equal(out.stdout, "");
  assert.equal(out.stderr.split("\n").length, 2, "one line");
  assert.ok(out.stderr.length < 4096 + 200, `${String(out.stderr.length)} characters`);
}

describe("the largest accepted input", () => {
  test("a policy just under the limit, many keys and one 1 MiB key, is answered", () => {
    const big = largeInput();
    assert.ok(big.policy.length > MAX_FILE_BYTES - 64 * 1024);
    const out = runPure(["--policy", "/p"], big.request, { "/p": big.policy });
    assert.equal(out.stderr, "");
    assert.equal(out.stdout, answer("Image", "0s", { [big.answerKey]: ["alice", "pw-alice"] }));
  });

  test("200000 bad entries: one line, the first problems and a count", () => {
    const auths: Record<string, number> = {};
    for (let i = 0; i < 200_000; i++) auths[`r${String(i)}.io`] = 1;
    const text = JSON.stringify({ auths });
    const out = runPure(["--credentials", "/c"], request("r1.io/x"), { "/c": text });
    assertOneShortLine(out);
    assert.ok(out.stderr.includes("and 199990 more problems"), out.stderr);
    const check = runPure(["--check", "--credentials", "/c"], "", { "/c": text });
    assert.equal(check.exitCode, 1);
    assert.equal(check.stderr.split("\n").length, 102);
    assert.ok(check.stderr.includes("and 199900 more problems"));
  });

  test("200000 bad entries in a policy file: still one line, exit 1", () => {
    const auths: Record<string, number> = {};
    for (let i = 0; i < 200_000; i++) auths[`r${String(i)}.io`] = 1;
    const text = formatPolicy(["r1.io"], { scoped: false, credentials: [] }).replace(
      '"auths":{}',
      `"auths":${JSON.stringify(auths)}`,
    );
    assertOneShortLine(runPure(["--policy", "/p"], request("r1.io/x"), { "/p": text }));
  });

  test("a problem quoting a 1 MiB key is cut, in one line", () => {
    const key = `${a(1 << 20)}:bad-port`;
    const out = runPure(["--credentials", "/c"], request("r.io/x"), {
      "/c": JSON.stringify({ auths: { [key]: { username: "u", password: "p" } } }),
    });
    assertOneShortLine(out);
    assert.ok(out.stderr.includes("more characters)"), out.stderr.slice(-100));
  });
});

// ---------------------------------------------------------------------------------------------
// Real processes.

interface Build {
  readonly name: string;
  /** The command line before the provider's own arguments. */
  readonly command: readonly string[];
}

function runnable(command: readonly string[]): boolean {
  const [cmd = "", ...args] = command;
  return existsSync(cmd) && spawnSync(cmd, [...args, "--version"]).status === 0;
}

const QEMU_ARM64 = "/usr/bin/qemu-aarch64-static";
const BUILDS: readonly Build[] = [
  { name: "node bundle", command: [process.execPath, NODE_BUNDLE] },
  { name: "static binary", command: [staticBinary()] },
  ...(process.arch === "x64" && runnable([QEMU_ARM64, staticBinary("arm64")])
    ? [{ name: "static binary arm64 (qemu)", command: [QEMU_ARM64, staticBinary("arm64")] }]
    : []),
];

interface Exec {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a build with argv; `stdout`: an fd for the child's stdout (default: a pipe we read). */
function exec(b: Build, argv: readonly string[], stdin: string, stdout?: number): Exec {
  const [cmd = "", ...pre] = b.command;
  const r = spawnSync(cmd, [...pre, ...argv], {
    input: stdin,
    stdio: ["pipe", stdout ?? "pipe", "pipe"],
    encoding: "utf8",
    env: {},
    maxBuffer: 2 * MAX_FILE_BYTES,
    // Far above any answer here: a provider that blocks is killed, and the test fails.
    timeout: 60_000,
  });
  if (r.error !== undefined && (r.error as NodeJS.ErrnoException).code !== "EPIPE") throw r.error;
  // stdout is null when it went to a descriptor of ours rather than a pipe.
  const out = r.stdout as string | null;
  return { code: r.status ?? -1, stdout: out ?? "", stderr: r.stderr };
}

/** Runs a build with its stdout closed (as `>&-` does). */
function execStdoutClosed(b: Build, argv: readonly string[], stdin: string): Exec {
  return exec(
    { name: b.name, command: ["/bin/sh", "-c", 'exec "$@" >&-', "sh", ...b.command] },
    argv,
    stdin,
  );
}

function refused(r: Exec, reason: string): void {
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^nodecred-provider: [^\n]*\n$/);
  assert.ok(r.stderr.includes(reason), r.stderr);
}

let dir = "";
let socketServer: Server | undefined;
const POLICY = formatPolicy(["reg.example.com"], {
  scoped: false,
  credentials: [{ key: "reg.example.com", username: "alice", password: "pw-alpha-7f3a" }],
});
const ANSWER = answer("Registry", "0s", { "reg.example.com": ["alice", "pw-alpha-7f3a"] });
const REQUEST = request("reg.example.com/app");
/** Makes a policy file of exactly MAX_FILE_BYTES: the shells must read it whole. */
const LONG_PASSWORD = "p".repeat(MAX_FILE_BYTES - POLICY.length + "pw-alpha-7f3a".length);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "nodecred-hostile-"));
  writeFileSync(join(dir, "policy.json"), POLICY);
  writeFileSync(join(dir, "scoped.json"), SCOPED_POLICY);
  execFileSync("mkfifo", [join(dir, "fifo")]);
  symlinkSync(join(dir, "fifo"), join(dir, "link-to-fifo"));
  symlinkSync(join(dir, "policy.json"), join(dir, "link-to-policy"));
  // Sparse: no disk used. One byte over the limit, and exactly at it (zeros: not JSON).
  execFileSync("truncate", ["-s", String(MAX_FILE_BYTES + 1), join(dir, "over.json")]);
  execFileSync("truncate", ["-s", String(MAX_FILE_BYTES), join(dir, "at-limit.json")]);
  const large = formatPolicy(["reg.example.com"], {
    scoped: false,
    credentials: [{ key: "reg.example.com", username: "alice", password: LONG_PASSWORD }],
  });
  assert.equal(large.length, MAX_FILE_BYTES);
  writeFileSync(join(dir, "large.json"), large);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(join(dir, "socket"), resolve));
  socketServer = server;
});

after(() => {
  socketServer?.close();
  rmSync(dir, { recursive: true, force: true });
});

for (const b of BUILDS) {
  describe(`${b.name}: the policy file must be a regular file of bounded size`, () => {
    const cases: readonly [string, () => string, string][] = [
      ["a FIFO (nothing writes it)", () => join(dir, "fifo"), "not a regular file but a FIFO"],
      ["a link to a FIFO", () => join(dir, "link-to-fifo"), "not a regular file but a FIFO"],
      ["a directory", () => dir, "is a directory"],
      ["/dev/zero (never ends)", () => "/dev/zero", "not a regular file but a character device"],
      ["a socket", () => join(dir, "socket"), "not a regular file but a socket"],
      [
        "one byte over the limit",
        () => join(dir, "over.json"),
        `larger than the limit of ${String(MAX_FILE_BYTES)} bytes`,
      ],
      [
        "exactly at the limit: read (and refused as JSON)",
        () => join(dir, "at-limit.json"),
        "not valid JSON",
      ],
    ];
    for (const [name, path, reason] of cases) {
      test(name, () => {
        refused(exec(b, ["--policy", path()], REQUEST), reason);
        refused(exec(b, ["--check", "--policy", path()], ""), reason);
      });
    }
    test("a link to a regular file (a Secret volume's layout) is read", () => {
      assert.deepEqual(exec(b, ["--policy", join(dir, "link-to-policy")], REQUEST), {
        code: 0,
        stdout: ANSWER,
        stderr: "",
      });
    });
    test("a policy of exactly the limit is read whole", () => {
      const r = exec(b, ["--policy", join(dir, "large.json")], REQUEST);
      assert.equal(r.stderr, "");
      assert.equal(
        r.stdout,
        answer("Registry", "0s", { "reg.example.com": ["alice", LONG_PASSWORD] }),
      );
    });
  });

  describe(`${b.name}: stdin is read up to a limit`, () => {
    test("a request padded to exactly the limit is answered", () => {
      const padded = REQUEST.padEnd(MAX_REQUEST_BYTES, " ");
      const r = exec(b, ["--policy", join(dir, "policy.json")], padded);
      assert.deepEqual(r, { code: 0, stdout: ANSWER, stderr: "" });
    });
    test("one byte more is refused", () => {
      const padded = REQUEST.padEnd(MAX_REQUEST_BYTES + 1, " ");
      refused(
        exec(b, ["--policy", join(dir, "policy.json")], padded),
        `cannot read the request from stdin: larger than the limit of ${String(MAX_REQUEST_BYTES)} bytes`,
      );
    });
    test("an endless stdin (/dev/zero) is refused", () => {
      const fd = openSync("/dev/zero", "r");
      try {
        const [cmd = "", ...pre] = b.command;
        const r = spawnSync(cmd, [...pre, "--policy", join(dir, "policy.json")], {
          stdio: [fd, "pipe", "pipe"],
          encoding: "utf8",
          env: {},
          timeout: 60_000,
        });
        refused(
          { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr },
          "larger than the limit",
        );
      } finally {
        closeSync(fd);
      }
    });
  });

  describe(`${b.name}: a hostile service-account token is refused in one pass`, () => {
    // Each request is near MAX_REQUEST_BYTES; the builds must agree (QuickJS's JSON.parse would
    // run out of stack on deep nesting where V8's does not: the depth is checked first).
    const argv = (): string[] => ["--policy", join(dir, "scoped.json")];
    const size = MAX_REQUEST_BYTES - 4096;
    const cases: readonly [string, string, string][] = [
      ["only dots", ".".repeat(size), "not a JWT (want three dot-separated parts)"],
      ["one huge part", "a".repeat(size), "not a JWT (want three dot-separated parts)"],
      [
        "a payload of one huge string",
        jwt(JSON.stringify(a((size * 3) / 4 - 64))),
        "not a JSON object",
      ],
      [
        "a payload nested 300000 deep",
        jwt(`${"[".repeat(300_000)}${"]".repeat(300_000)}`),
        "malformed payload (nested deeper than 32 levels)",
      ],
      [
        "a payload of objects nested 100000 deep",
        jwt(
          `{"aud":"nodecred.io","kubernetes.io":${'{"a":'.repeat(100_000)}1${"}".repeat(100_001)}`,
        ),
        "malformed payload (nested deeper than 32 levels)",
      ],
    ];
    for (const [name, token, reason] of cases) {
      test(name, () => {
        const stdin = scopedRequest("reg.example.com/app", token);
        assert.ok(stdin.length <= MAX_REQUEST_BYTES, String(stdin.length));
        refused(exec(b, argv(), stdin), reason);
      });
    }
    test("a valid token padded to near the limit is answered", () => {
      const token = jwt({ ...saClaims("team-b"), pad: a((size * 3) / 4 - 1024) });
      const stdin = scopedRequest("reg.example.com/app", token);
      assert.ok(stdin.length <= MAX_REQUEST_BYTES, String(stdin.length));
      assert.deepEqual(exec(b, argv(), stdin), {
        code: 0,
        stdout: answer("Registry", "0s", { "reg.example.com": ["team-b", "pw-set-b-73aa"] }),
        stderr: "",
      });
    });
  });

  describe(`${b.name}: an answer that cannot be written is a failure`, () => {
    const argv = (): string[] => ["--policy", join(dir, "policy.json")];
    test("stdout closed", () => {
      const r = execStdoutClosed(b, argv(), REQUEST);
      assert.deepEqual(r, { code: 1, stdout: "", stderr: STDOUT_FAILURE });
    });
    test("stdout a pipe whose reader has gone (EPIPE)", () => {
      const fifo = join(dir, "fifo");
      // Open the FIFO's read end first so the write end opens at once, then close the reader.
      const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      const writer = openSync(fifo, constants.O_WRONLY);
      closeSync(reader);
      try {
        assert.deepEqual(exec(b, argv(), REQUEST, writer), {
          code: 1,
          stdout: "",
          stderr: STDOUT_FAILURE,
        });
      } finally {
        closeSync(writer);
      }
    });
    test("stdout a full device (/dev/full: ENOSPC)", () => {
      const full = openSync("/dev/full", "w");
      try {
        assert.deepEqual(exec(b, argv(), REQUEST, full), {
          code: 1,
          stdout: "",
          stderr: STDOUT_FAILURE,
        });
      } finally {
        closeSync(full);
      }
    });
    test("stdout /dev/null opened for writing is a good sink: exit 0", () => {
      const sink = openSync("/dev/null", "w");
      try {
        assert.deepEqual(exec(b, argv(), REQUEST, sink), { code: 0, stdout: "", stderr: "" });
      } finally {
        closeSync(sink);
      }
    });
    test("the empty answer, too, must reach stdout", () => {
      const r = execStdoutClosed(b, argv(), request("other.example.com/app"));
      assert.deepEqual(r, { code: 1, stdout: "", stderr: STDOUT_FAILURE });
      assert.equal(exec(b, argv(), request("other.example.com/app")).stdout, emptyAnswer());
    });
  });
}

test("every build ran (the static binary for this machine at least)", () => {
  assert.ok(BUILDS.length >= 2, BUILDS.map((b) => b.name).join(", "));
});
