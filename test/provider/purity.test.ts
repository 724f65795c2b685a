// provider/core is bundled into QuickJS: no Node or npm imports, no host globals, no RegExp (the
// binary is built without that intrinsic). A grep-level guard, so a slip fails here, not on a node.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "./run-provider.ts";

const coreDir = join(REPO_ROOT, "provider", "core");
const files = readdirSync(coreDir).filter((f) => f.endsWith(".ts"));

function code(file: string): string {
  // Comments may mention anything.
  return readFileSync(join(coreDir, file), "utf8")
    .split("\n")
    .filter((l) => !/^\s*(\/\/|\*|\/\*\*)/.test(l))
    .join("\n");
}

test("core has files", () => {
  assert.ok(files.length > 5);
});

for (const file of files) {
  test(`${file}: imports only sibling core modules`, () => {
    for (const m of code(file).matchAll(/\bfrom\s+"([^"]+)"/g)) {
      assert.match(m[1] ?? "", /^\.\/[a-z0-9-]+\.ts$/, `${file} imports ${m[1] ?? ""}`);
    }
  });
  test(`${file}: no host globals or RegExp`, () => {
    const text = code(file);
    for (const banned of [
      "process.",
      "Buffer",
      "atob(",
      "btoa(",
      "TextDecoder",
      "TextEncoder",
      "require(",
      "new RegExp",
      "new Map",
      "new Set",
      "Date.",
    ]) {
      assert.ok(!text.includes(banned), `${file} uses ${banned}`);
    }
    assert.doesNotMatch(
      text,
      /[=(,:]\s*\/[^/*\s][^/\n]*\/[dgimsuy]*[.,;)\s]/,
      `${file} has a regex literal`,
    );
  });
}
