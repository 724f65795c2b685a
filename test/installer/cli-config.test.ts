/** Command-line rules of `nodecred-installer` that are not covered by a run. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  parseCommandLine,
  usage,
  usageOf,
  type CommandLine,
} from "../../installer/cli/commands.ts";
import { parseConfig, type Config } from "../../installer/cli/config.ts";
import { parseSyncConfig } from "../../installer/cli/sync-config.ts";
import { InstallerError } from "../../installer/errors.ts";
import { helpCases } from "./help-cases.ts";

const base = ["apply", "--host-root", "/host", "--configmap", "cm.yaml", "--secret", "s.yaml"];

/** One numeric flag: each value is parsed to `want`, or refused (null) as USAGE on that flag. */
function valueCases(
  flag: string,
  read: (config: Config) => number,
  cases: readonly [string, number | null][],
): void {
  for (const [value, want] of cases) {
    it(`${JSON.stringify(value)}: ${want === null ? "refused" : String(want)}`, () => {
      const parse = (): number => read(parseConfig([...base, `${flag}=${value}`], "x64"));
      if (want !== null) {
        assert.equal(parse(), want);
        return;
      }
      assert.throws(parse, (e: unknown) => {
        assert.ok(e instanceof InstallerError);
        assert.equal(e.code, "USAGE");
        assert.deepEqual(
          e.problems.map((p) => p.path),
          [flag],
        );
        return true;
      });
    });
  }
}

describe("--health-max-exits", () => {
  it("defaults to 3", () => {
    assert.equal(parseConfig(base, "x64").healthMaxExits, 3);
  });
  valueCases("--health-max-exits", (c) => c.healthMaxExits, [
    ["0", 0],
    ["1", 1],
    ["10", 10],
    ["-1", null],
    ["1.5", null],
    ["two", null],
    ["", null],
  ]);
});

describe("--lock-timeout (ms)", () => {
  it("defaults to 15 minutes, for apply and uninstall", () => {
    assert.equal(parseConfig(base, "x64").lockTimeoutMs, 15 * 60_000);
    assert.equal(parseConfig(["uninstall", "--host-root", "/h"], "x64").lockTimeoutMs, 900_000);
  });
  valueCases("--lock-timeout", (c) => c.lockTimeoutMs, [
    ["1", 1000],
    ["0.5", 500],
    ["3600", 3_600_000],
    ["0", null],
    ["-5", null],
    ["soon", null],
    ["", null],
  ]);
});

describe("run: --listen", () => {
  const env = { POD_NAMESPACE: "nodecred", POD_NAME: "p", NODE_NAME: "n" };
  it("defaults to the manifest's 127.0.0.1:9847 (the node's loopback only)", () => {
    assert.deepEqual(parseSyncConfig([], env).listen, { host: "127.0.0.1", port: 9847 });
    const manifest = readFileSync(
      join(import.meta.dirname, "../../manifests/daemonset.yaml"),
      "utf8",
    );
    assert.match(manifest, /- --listen=127\.0\.0\.1:9847\n/);
    assert.match(manifest, /containerPort: 9847/);
  });
  it("takes HOST:PORT, [IPv6]:PORT and :PORT (every address)", () => {
    const listen = (v: string): unknown => parseSyncConfig([`--listen=${v}`], env).listen;
    assert.deepEqual(listen("0.0.0.0:9808"), { host: "0.0.0.0", port: 9808 });
    assert.deepEqual(listen("[::1]:1"), { host: "::1", port: 1 });
    assert.deepEqual(listen(":9847"), { host: "0.0.0.0", port: 9847 });
    assert.throws(() => listen("127.0.0.1:http"), /invalid command line/);
  });
});

describe("the command line: help, usage errors, commands", () => {
  const env = { POD_NAMESPACE: "nodecred", POD_NAME: "p", NODE_NAME: "n" };
  const parse = (argv: readonly string[]): CommandLine => parseCommandLine(argv, "x64", env);
  // [argv, what it asks for: the help text (help-cases.ts), or the first line of a usage error +
  // whose usage]
  for (const [argv, text] of helpCases) {
    it(`${argv.join(" ")}: help`, () => {
      assert.deepEqual(parse(argv), { kind: "help", text });
    });
  }
  const errorCases: [string[], string, string][] = [
    [[], "nodecred-installer: no command given (USAGE)", usage],
    [["bogus"], 'nodecred-installer: unknown command "bogus" (USAGE)', usage],
    [["bogus", "--help"], 'nodecred-installer: unknown command "bogus" (USAGE)', usage],
    [["help", "bogus"], 'nodecred-installer: unknown command "bogus" (USAGE)', usage],
    [["help", "run", "x"], "nodecred-installer: unexpected arguments: x (USAGE)", usage],
    [
      ["apply", "--no-such-flag"],
      "nodecred-installer apply: --no-such-flag: unknown flag; --host-root: required; --configmap: required (or --configmap-dir); --secret: required (or --secret-dir) (USAGE)",
      usageOf("apply"),
    ],
    [
      [...base, "--no-such-flag=1", "-x"],
      "nodecred-installer apply: --no-such-flag: unknown flag; -x: unknown flag (USAGE)",
      usageOf("apply"),
    ],
    [
      ["apply", "--configmap", "cm.yaml", "--secret", "s.yaml", "--host-root"],
      "nodecred-installer apply: --host-root: needs a value (USAGE)",
      usageOf("apply"),
    ],
    [
      // A flag after a flag is not its value: both are read as flags.
      ["uninstall", "--host-root", "--dry-run"],
      "nodecred-installer uninstall: --host-root: needs a value (USAGE)",
      usageOf("uninstall"),
    ],
    [
      ["uninstall", "--host-root=/h", "--dry-run=yes"],
      "nodecred-installer uninstall: --dry-run: takes no value (USAGE)",
      usageOf("uninstall"),
    ],
    [
      ["run", "--listen"],
      "nodecred-installer run: --listen: needs a value (USAGE)",
      usageOf("run"),
    ],
    [
      ["run", "--bogus", "extra", "--resync=0"],
      'nodecred-installer run: --bogus: unknown flag; unexpected arguments: extra; --resync: expected seconds >= 1, got "0" (USAGE)',
      usageOf("run"),
    ],
  ];
  for (const [argv, line, text] of errorCases) {
    it(`${JSON.stringify(argv.join(" "))}: usage error`, () => {
      assert.deepEqual(parse(argv), { kind: "usage-error", text: `${line}\n${text}` });
    });
  }
  it("a good line is a command", () => {
    const apply = parse(base);
    assert.ok(apply.kind === "apply-or-uninstall" && apply.config.command === "apply");
    // The command may also follow the flags, as before.
    const late = parse(["--host-root", "/h", "uninstall", "--dry-run"]);
    assert.ok(late.kind === "apply-or-uninstall" && late.config.command === "uninstall");
    assert.equal(parse(["run"]).kind, "run");
    // A value starting with "-" is written --flag=VALUE.
    const v = parse([...base, "--health-max-exits=-1"]);
    assert.equal(v.kind, "usage-error");
  });
  it("every command's usage is in the full usage, and each starts its own", () => {
    for (const c of ["apply", "uninstall", "run"] as const) {
      assert.ok(usageOf(c).startsWith(`usage:\n  nodecred-installer ${c} `));
      assert.ok(usage.includes(usageOf(c).slice("usage:\n".length)));
    }
  });
});
