/** The installer's log line format (pino underneath) and its censoring of credential fields. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LogFields } from "../../installer/core/report/sync-effects.ts";
import { jsonLogger } from "../../installer/log.ts";

interface Line {
  readonly [key: string]: unknown;
  readonly time?: unknown;
  readonly level?: unknown;
  readonly code?: unknown;
  readonly ok?: unknown;
  readonly none?: unknown;
  readonly path?: unknown;
}

function lines(emit: (log: ReturnType<typeof jsonLogger>) => void): Line[] {
  const out: string[] = [];
  emit(jsonLogger((l) => out.push(l), { component: "test" }));
  assert.ok(
    out.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n")),
    "one line each",
  );
  return out.map((l) => JSON.parse(l) as Line);
}

describe("installer log lines", () => {
  it("carry level as a word, an ISO time, the base fields, the fields and msg", () => {
    const [info, warn, error] = lines((log) => {
      log.info("installed", { action: "write", path: "/etc/x", list: ["a", "b"], n: 1 });
      log.warn("careful");
      log.error("failed", { code: "HOST_IO", ok: false, none: null });
    });
    assert.deepEqual(
      { ...info, time: undefined },
      {
        level: "info",
        time: undefined,
        component: "test",
        action: "write",
        path: "/etc/x",
        list: ["a", "b"],
        n: 1,
        msg: "installed",
      },
    );
    assert.match(String(info?.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(warn?.level, "warn");
    assert.deepEqual(
      { level: error?.level, code: error?.code, ok: error?.ok, none: error?.none },
      { level: "error", code: "HOST_IO", ok: false, none: null },
    );
  });

  // A second line of defence: callers never pass credentials, but a field that would carry one
  // is censored wherever it comes from.
  const censored: [string, LogFields][] = [
    ["password", { password: "FAKE-test-password-1" }],
    ["auth", { auth: "RkFLRS10ZXN0LXBhc3N3b3JkLTE=" }],
    ["token", { token: "FAKE-test-password-1" }],
    ["identitytoken", { identitytoken: "FAKE-test-password-1" }],
    [".dockerconfigjson", { ".dockerconfigjson": "FAKE-test-password-1" }],
  ];
  for (const [name, fields] of censored) {
    it(`censors a field named ${name}`, () => {
      const [line] = lines((log) => {
        log.warn("oops", { ...fields, path: "/etc/nodecred" });
      });
      assert.ok(line);
      const text = JSON.stringify(line);
      assert.ok(
        !text.includes("FAKE-test-password") && !text.includes("RkFLRS"),
        "a credential reached the log line",
      );
      assert.equal(line[name], "[redacted]");
      assert.equal(line.path, "/etc/nodecred");
    });
  }
});
