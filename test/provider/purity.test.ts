// The two pure cores, held to it by a grep-level guard, so a slip fails here and not on a node:
// - provider/core is bundled into QuickJS: no Node or npm imports, no host globals, no RegExp (the
//   binary is built without that intrinsic), no Map/Set, no Date;
// - installer/core computes what a node should look like from values: it imports only itself,
//   provider/core and the libraries it computes with (yaml, handlebars, node:crypto), and touches
//   no process, file, timer, clock or randomness — the shell (host/, sync/, cluster/, cli/) does.
// ESLint's nodecred/boundaries rule keeps every folder's imports (eslint.config.js); this adds
// the globals no import shows.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { REPO_ROOT } from "./run-provider.ts";

/** Every .ts file under `dir`, repository-relative. */
function sources(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f))
    .sort();
}

/** The file without its comment lines (comments may mention anything). */
function code(text: string): string {
  return text
    .split("\n")
    .filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l))
    .join("\n");
}

/** The module specifiers a file imports or re-exports, static or dynamic. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of code(text).matchAll(/\b(?:from|import)\s*\(?\s*"([^"]+)"/g)) out.push(m[1] ?? "");
  return out;
}

interface Core {
  readonly dir: string;
  /** Whether a specifier (relative ones resolved, repository-relative) may be imported. */
  readonly allowed: (target: string) => boolean;
  readonly banned: readonly (string | RegExp)[];
}

const hostGlobals = [
  "process.",
  "Buffer",
  "require(",
  "globalThis",
  "setTimeout",
  "setInterval",
  "setImmediate",
  "queueMicrotask",
  "performance.",
  "fetch(",
  "console.",
  "Math.random",
  "Date.now",
  /new Date\(\s*\)/,
];

const cores: readonly Core[] = [
  {
    dir: "provider/core",
    allowed: (t) => t.startsWith("provider/core/") && !t.slice(14).includes("/"),
    banned: [
      ...hostGlobals,
      "atob(",
      "btoa(",
      "TextDecoder",
      "TextEncoder",
      "new RegExp",
      "new Map",
      "new Set",
      "Date.",
      /[=(,:]\s*\/[^/*\s][^/\n]*\/[dgimsuy]*[.,;)\s]/,
    ],
  },
  {
    dir: "installer/core",
    allowed: (t) =>
      t.startsWith("installer/core/") ||
      t.startsWith("provider/core/") ||
      ["yaml", "handlebars", "node:crypto"].includes(t),
    banned: hostGlobals,
  },
];

for (const core of cores) {
  describe(`${core.dir} is pure`, () => {
    const files = sources(core.dir);
    test("has files", () => {
      assert.ok(files.length > 5);
    });
    for (const file of files) {
      const text = readFileSync(join(REPO_ROOT, file), "utf8");
      test(`${file}: imports only ${core.dir} and what it computes with`, () => {
        for (const s of specifiers(text)) {
          const target = s.startsWith(".")
            ? relative(REPO_ROOT, resolve(REPO_ROOT, dirname(file), s))
            : s;
          assert.ok(core.allowed(target), `${file} imports ${s}`);
        }
      });
      test(`${file}: no host globals`, () => {
        const body = code(text);
        for (const banned of core.banned) {
          const hit = typeof banned === "string" ? body.includes(banned) : banned.test(body);
          assert.ok(!hit, `${file} uses ${String(banned)}`);
        }
      });
    }
  });
}

describe("the guard itself", () => {
  test("sees an import of the shell and a clock, not a comment about them", () => {
    const slip =
      'import { x } from "../../host/apply.ts";\nconst t = Date.now();\n// process.env\n';
    assert.deepEqual(specifiers(slip), ["../../host/apply.ts"]);
    assert.ok(code(slip).includes("Date.now"));
    assert.ok(!code(slip).includes("process.env"));
    const core = cores.find((c) => c.dir === "installer/core");
    assert.ok(core !== undefined && !core.allowed("installer/host/apply.ts"));
  });
});
