// A YAML error names its kind and position, never the text it is about: the text may be a Secret
// (the `yaml` library quotes escapes, tags, alias names, and with prettyErrors the whole line).
// Checked on the parser and on the built CLI (`npm run build` first), stderr included.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseStrictYaml } from "../../installer/core/strict-yaml.ts";
import { tempDir } from "../temp-dir.ts";

const repo = join(import.meta.dirname, "..", "..");
const bundle = join(repo, "dist", "installer", "nodecred-installer.mjs");
const password = "Hunter2-pw-9q";

const head = "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockerconfigjson\nstringData:\n";
const auths = `{"auths": {"registry.example.com": {"username": "u", "password": "${password}"}}}`;

/** [name, Secret manifest with the password on the line of the error, expected message]. */
const cases: [string, string, string][] = [
  [
    "unclosed flow mapping",
    `${head}  .dockerconfigjson: ${auths.slice(0, -1)}\n`,
    "YAML: Bad indentation (or an unclosed bracket) at line 6, column 1 (BAD_INDENT)",
  ],
  [
    "unclosed double quote",
    `${head}  .dockerconfigjson: "${auths.replaceAll('"', '\\"')}\n`,
    "at line 6, column 1 (MISSING_CHAR)",
  ],
  [
    "bad escape in a double-quoted string",
    `${head}  .dockerconfigjson: "\\q${password}"\n`,
    "YAML: Invalid escape sequence in a double-quoted string at line 5, column 23 (BAD_DQ_ESCAPE)",
  ],
  ["tab as indentation", `${head}\t.dockerconfigjson: ${password}\n`, "(TAB_AS_INDENT)"],
  [
    "a colon in a plain value",
    `${head}  .dockerconfigjson: ${password}: x\n`,
    "at line 5, column 22 (BLOCK_AS_IMPLICIT_KEY)",
  ],
  [
    "block scalar header with extra characters",
    `${head}  .dockerconfigjson: |${password}\n    x\n`,
    "(UNEXPECTED_TOKEN)",
  ],
  [
    "duplicate key",
    `${head}  .dockerconfigjson: ${password}\n  .dockerconfigjson: ${password}\n`,
    "YAML: Map keys must be unique at line 6, column 3 (DUPLICATE_KEY)",
  ],
  [
    "alias of an undefined anchor",
    `${head}  .dockerconfigjson: *${password}\n`,
    "YAML: An alias refers to no anchor defined before it",
  ],
];

describe("YAML errors without the YAML", () => {
  for (const [name, text, want] of cases) {
    it(name, () => {
      const r = parseStrictYaml(text, "secret");
      assert.ok(!r.ok, "must be refused");
      const messages = r.problems.map((p) => p.message);
      assert.ok(
        messages.some((m) => m.includes(want)),
        `want ${want}, got ${JSON.stringify(messages)}`,
      );
      for (const m of messages) {
        assert.match(m, /^YAML: [A-Z]/);
        assert.ok(!m.includes("Hunter2") && !m.includes("9q"), m);
      }
    });
  }
});

describe("the CLI reports a broken --secret or --configmap file without its content", () => {
  function apply(files: { configmap: string; secret: string }): {
    status: number | null;
    stdout: string;
    stderr: string;
  } {
    assert.ok(existsSync(bundle), `${bundle} missing: run npm run build`);
    const r = spawnSync(
      process.execPath,
      [
        bundle,
        "apply",
        "--host-root",
        tempDir("nodecred-yaml-"),
        "--configmap",
        files.configmap,
        "--secret",
        files.secret,
        "--restart",
        "none",
      ],
      { encoding: "utf8" },
    );
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }
  const dir = tempDir("nodecred-yaml-inputs-");
  const configmap = join(repo, "manifests", "configmap.yaml");

  for (const [name, text, want] of cases) {
    it(`--secret FILE: ${name}`, () => {
      const secret = join(dir, `${name.replaceAll(" ", "-")}.yaml`);
      writeFileSync(secret, text);
      const r = apply({ configmap, secret });
      assert.equal(r.status, 3, r.stderr);
      assert.equal(r.stdout, "");
      assert.ok(!r.stderr.includes("Hunter2") && !r.stderr.includes("9q"), r.stderr);
      const line = JSON.parse(r.stderr.trim()) as { code: string; problems: string[] };
      assert.equal(line.code, "INVALID_INPUT");
      assert.ok(
        line.problems.some((p) => p.startsWith("secret: YAML: ") && p.includes(want)),
        r.stderr,
      );
    });
  }

  it("--configmap FILE: the same", () => {
    const broken = join(dir, "configmap.yaml");
    writeFileSync(
      broken,
      `apiVersion: v1\nkind: ConfigMap\ndata:\n  matchImages: "registry.example.com/${password}\n`,
    );
    const secret = join(dir, "good-secret.yaml");
    writeFileSync(secret, `${head}  .dockerconfigjson: '${auths}'\n`);
    const r = apply({ configmap: broken, secret });
    assert.equal(r.status, 3, r.stderr);
    assert.ok(!r.stderr.includes("Hunter2") && !r.stderr.includes("9q"), r.stderr);
    assert.match(
      r.stderr,
      /configmap: YAML: Missing character .* at line 5, column 1 \(MISSING_CHAR\)/,
    );
  });
});
