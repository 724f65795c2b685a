// The kubelet's answers in oracle/kubelet-answers.json are reproducible: scripts/record-oracle
// rebuilds the Go harness (scripts/k8s/oracle) from the module cache `npm run test-env:setup` fills,
// runs it on oracle/cases.json, and must print the committed file byte for byte. So an answer
// edited by hand, or a case added without recording it, fails here. Needs `go` on PATH; no test
// environment and no network (GOPROXY=off).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "./run-provider.ts";

test("scripts/record-oracle reproduces kubelet-answers.json offline", { timeout: 300_000 }, () => {
  const run = spawnSync("bash", [join(REPO_ROOT, "scripts", "record-oracle"), "--stdout"], {
    encoding: "utf8",
    env: { ...process.env, GOPROXY: "off", GOFLAGS: "-mod=readonly", GOTOOLCHAIN: "local" },
    maxBuffer: 64 << 20,
  });
  assert.equal(run.error, undefined);
  assert.equal(run.status, 0, run.stderr);
  const committed = readFileSync(
    join(REPO_ROOT, "test/provider/oracle/kubelet-answers.json"),
    "utf8",
  );
  // The first line that differs, rather than a diff of two 1,400-line strings.
  const printed = run.stdout.split("\n");
  const kept = committed.split("\n");
  const at = printed.findIndex((line, i) => line !== kept[i]);
  const line = at === -1 ? printed.length : at;
  assert.ok(
    run.stdout === committed,
    `kubelet-answers.json line ${String(line + 1)} is ${JSON.stringify(kept[line])}, upstream ` +
      `answers ${JSON.stringify(printed[line])}: run \`npm run oracle:record\` and review the diff`,
  );
});
