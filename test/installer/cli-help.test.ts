// The built CLI (dist/, as the image runs it): help on stdout with exit 0, usage errors on stderr as
// one line naming every problem plus the usage of that command, exit 2. `npm run build` first.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { usage, usageOf } from "../../installer/cli/commands.ts";
import { helpCases } from "./help-cases.ts";

const bundle = join(import.meta.dirname, "..", "..", "dist", "installer", "nodecred-installer.mjs");

function cli(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  assert.ok(existsSync(bundle), `${bundle} missing: run npm run build`);
  // No POD_* variables from whoever runs the tests: `run` must find them missing.
  const r = spawnSync(process.execPath, [bundle, ...args], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] ?? "" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("nodecred-installer help", () => {
  for (const [args, text] of helpCases) {
    it(`${args.join(" ")}: the usage on stdout, exit 0`, () => {
      assert.deepEqual(cli(args), { status: 0, stdout: text, stderr: "" });
    });
  }
  it("lists every command, run included", () => {
    const { stdout } = cli(["--help"]);
    for (const c of ["apply", "uninstall", "run", "help"]) {
      assert.match(stdout, new RegExp(`^ {2}nodecred-installer ${c} `, "m"));
      assert.match(stdout, new RegExp(`^ {2}${c} +\\S`, "m"));
    }
    assert.match(stdout, /--listen HOST:PORT/);
  });
});

describe("nodecred-installer usage errors", () => {
  // [args, the one line, whose usage follows]
  const cases: [string[], string, string][] = [
    [[], "nodecred-installer: no command given (USAGE)", usage],
    [["instal"], 'nodecred-installer: unknown command "instal" (USAGE)', usage],
    [["help", "instal"], 'nodecred-installer: unknown command "instal" (USAGE)', usage],
    [
      ["uninstall", "--host-root=/nonexistent", "--no-such-flag"],
      "nodecred-installer uninstall: --no-such-flag: unknown flag (USAGE)",
      usageOf("uninstall"),
    ],
    [
      ["apply", "--configmap", "cm.yaml", "--secret", "s.yaml", "--host-root"],
      "nodecred-installer apply: --host-root: needs a value (USAGE)",
      usageOf("apply"),
    ],
    [
      ["apply", "--host-root=/nonexistent", "--restart", "sometimes", "--dry-run=no"],
      'nodecred-installer apply: --dry-run: takes no value; --configmap: required (or --configmap-dir); --secret: required (or --secret-dir); --restart: expected none or systemd, got "sometimes" (USAGE)',
      usageOf("apply"),
    ],
    [
      ["run", "--listen"],
      "nodecred-installer run: --listen: needs a value; --namespace: required (or the POD_NAMESPACE environment variable); --node: required (or the NODE_NAME environment variable); --pod: required (or the POD_NAME environment variable) (USAGE)",
      usageOf("run"),
    ],
    [
      ["run", "--namespace=n", "--node=n", "--pod=p", "--resync"],
      "nodecred-installer run: --resync: needs a value (USAGE)",
      usageOf("run"),
    ],
  ];
  for (const [args, line, text] of cases) {
    it(`${JSON.stringify(args.join(" "))}: one line and the usage on stderr, exit 2`, () => {
      const r = cli(args);
      assert.deepEqual(r, { status: 2, stdout: "", stderr: `${line}\n${text}` });
      assert.equal(
        r.stderr.split("\n").findIndex((l) => l === "usage:"),
        1,
        "exactly one line",
      );
    });
  }
});
