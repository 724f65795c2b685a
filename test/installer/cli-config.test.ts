/** Command-line rules of `nodecred-installer apply` that are not covered by a run. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig, type Config } from "../../installer/cli/config.ts";
import { InstallerError } from "../../installer/errors.ts";

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
