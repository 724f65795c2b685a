// The architecture's rules, shown failing: lint/boundaries.js (which folder may import what) and
// the environment read only at the entry points, run through ESLint on small files placed in each
// folder, the bad import next to the good one. `npm run check` runs them over the real tree.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Linter } from "eslint";
import tseslint from "typescript-eslint";
import nodecred, { entryPoints, readsNoEnvironment, rooms } from "../../lint/boundaries.ts";

const repo = join(import.meta.dirname, "..", "..");
const linter = new Linter({ configType: "flat" });

function problems(file: string, code: string): string[] {
  return linter
    .verify(
      code,
      [
        {
          files: ["**/*.ts"],
          languageOptions: { parser: tseslint.parser, sourceType: "module" },
          plugins: { nodecred },
          rules: { "nodecred/boundaries": "error" },
        },
        {
          files: ["installer/**/*.ts", "provider/**/*.ts"],
          ignores: entryPoints,
          rules: { "no-restricted-properties": readsNoEnvironment },
        },
      ],
      { filename: join(repo, file) },
    )
    .map((m) => `${m.ruleId ?? "parse"}: ${m.message}`);
}

describe("nodecred/boundaries", () => {
  const cases: [string, string, string, boolean][] = [
    [
      "the core imports its siblings",
      "installer/core/plan/x.ts",
      'import { a } from "../node/flavour.ts";',
      true,
    ],
    [
      "the core imports the provider's rules",
      "installer/core/settings/x.ts",
      'import { a } from "../../../provider/core/glob.ts";',
      true,
    ],
    ["the core computes with yaml", "installer/core/x.ts", 'import { parse } from "yaml";', true],
    [
      "the core may not reach the shell",
      "installer/core/plan/x.ts",
      'import { a } from "../../host/apply.ts";',
      false,
    ],
    [
      "the core may not read files",
      "installer/core/x.ts",
      'import { readFile } from "node:fs/promises";',
      false,
    ],
    [
      "the core may not run processes",
      "installer/core/x.ts",
      'import { execa } from "execa";',
      false,
    ],
    [
      "only process/ runs processes",
      "installer/host/x.ts",
      'import { execa } from "execa";',
      false,
    ],
    ["process/ does", "installer/process/x.ts", 'import { execa } from "execa";', true],
    [
      "only cluster/ talks to the API server",
      "installer/sync/x.ts",
      'import { KubeConfig } from "@kubernetes/client-node";',
      false,
    ],
    [
      "cluster/ does",
      "installer/cluster/x.ts",
      'import { KubeConfig } from "@kubernetes/client-node";',
      true,
    ],
    [
      "sync writes through the host's one writer",
      "installer/sync/x.ts",
      'import { writeFileAtomic } from "../host/atomic-write.ts";',
      true,
    ],
    [
      "sync loads none of apply's modules",
      "installer/sync/x.ts",
      'import { applyNode } from "../host/apply.ts";',
      false,
    ],
    [
      "sync asks the kubelet's healthz",
      "installer/sync/x.ts",
      'import { healthzOk } from "../process/healthz.ts";',
      true,
    ],
    [
      "sync restarts no kubelet",
      "installer/sync/x.ts",
      'import { k } from "../process/kubelet-control.ts";',
      false,
    ],
    ["a re-export counts", "installer/core/x.ts", 'export { x } from "../cli/config.ts";', false],
    [
      "a dynamic import counts",
      "installer/core/x.ts",
      'const m = await import("node:child_process");',
      false,
    ],
    [
      "the provider's core: its siblings only",
      "provider/core/x.ts",
      'import { a } from "./glob.ts";',
      true,
    ],
    ["not its shell", "provider/core/x.ts", 'import { a } from "../io/node.ts";', false],
    ["not Node", "provider/core/x.ts", 'import { readFileSync } from "node:fs";', false],
    ["scripts may import anything", "scripts/x.ts", 'import { execa } from "execa";', true],
    [
      "tests may import anything",
      "test/x.ts",
      'import { applyNode } from "../installer/host/apply.ts";',
      true,
    ],
  ];
  for (const [name, file, code, ok] of cases) {
    it(`${name} (${file})`, () => {
      const got = problems(file, code);
      if (ok) assert.deepEqual(got, []);
      else {
        assert.equal(got.length, 1, got.join("\n"));
        assert.match(got[0] ?? "", /^nodecred\/boundaries: .* may import only .*; not /);
      }
    });
  }
});

describe("the environment is read at the entry points only", () => {
  it("refused in a command's module, allowed in main.ts", () => {
    assert.match(
      problems("installer/cli/x.ts", "const e = process.env;").join(),
      /no-restricted-properties/,
    );
    assert.deepEqual(problems("installer/main.ts", "const e = process.env;"), []);
    assert.deepEqual(problems("scripts/x.ts", "const e = process.env;"), []);
  });
});

describe("the rooms", () => {
  it("are the folders of CONTRIBUTING.md's architecture table, each listed there", async () => {
    const { readFileSync } = await import("node:fs");
    const doc = readFileSync(join(repo, "CONTRIBUTING.md"), "utf8");
    for (const { room } of rooms)
      assert.ok(doc.includes(`\`${room}`), `${room} not in CONTRIBUTING.md`);
  });
});
