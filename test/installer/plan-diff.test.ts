/**
 * `--dry-run`'s diff (installer/core/plan/plan-diff.ts): the edit script as a table, and the
 * unified diff held to GNU `diff -u` on the same inputs where diff is on the machine (the oracle
 * runs in the test, on temp files). Where the two formats differ on purpose or by limitation, the
 * difference is named and our side pinned. Then describePlan over a whole plan: every action's
 * line, the binary by size and sha256 only, and no credential. The policy file's own rendering
 * (rules, keys, rotations, credential sets) is tested in policy-file.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { describePlan, editScript, unifiedDiff } from "../../installer/core/plan/plan-diff.ts";
import type { FileWrite, Plan } from "../../installer/core/plan/plan.ts";
import { formatPolicy } from "../../provider/core/policy.ts";
import { goldenRoot } from "./golden.ts";

const lines = (s: string): string[] => (s === "" ? [] : s.split(" "));
const script = (a: string, b: string): string =>
  editScript(lines(a), lines(b))
    .map((o) => `${o.kind === " " ? "=" : o.kind}${o.line}`)
    .join(" ");

describe("editScript: a shortest edit script, deletions before insertions", () => {
  const table: [string, string, string, string][] = [
    ["both empty", "", "", ""],
    ["identical", "a b c", "a b c", "=a =b =c"],
    ["pure insert into nothing", "", "a b", "+a +b"],
    ["pure delete to nothing", "a b", "", "-a -b"],
    ["insert in the middle", "a c", "a b c", "=a +b =c"],
    ["delete in the middle", "a b c", "a c", "=a -b =c"],
    [
      "a change in the middle: the old line out, then the new one in",
      "a b c",
      "a B c",
      "=a -b +B =c",
    ],
    ["a change at each end", "a b c", "A b C", "-a +A =b -c +C"],
    ["nothing in common", "a b", "c d", "-a -b +c +d"],
    ["a line moved: kept once, deleted and inserted once", "a b c", "b c a", "-a =b =c +a"],
    ["repeated lines: the earliest ones matched", "a a", "a", "=a -a"],
  ];
  for (const [name, a, b, want] of table) {
    it(name, () => {
      assert.equal(script(a, b), want);
    });
  }
  it("its length: every kept line once, every other line of either side once", () => {
    const a = "x a b y c d z".split(" ");
    const b = "a q b c r d".split(" ");
    const ops = editScript(a, b);
    const kept = ops.filter((o) => o.kind === " ").length;
    assert.equal(kept, 4, "a b c d is the longest common subsequence");
    assert.equal(ops.length, a.length + b.length - kept);
  });
});

const gnuDiff = ((): string | null => {
  const r = spawnSync("diff", ["--version"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.includes("GNU diffutils") ? "diff" : null;
})();
const work = mkdtempSync(join(tmpdir(), "nodecred-plan-diff-"));
after(() => {
  rmSync(work, { recursive: true, force: true });
});

/**
 * GNU `diff -u` with the labels unifiedDiff prints (`a<path>`, `b<path>`, `/dev/null` for an
 * absent side), normalised in the one place the formats differ on purpose: GNU leaves out a
 * range's count when it is 1 (`@@ -3 +3 @@`), unifiedDiff always writes it (`-3,1`); patch(1)
 * and `git apply` read both.
 */
function gnu(path: string, before: string | null, afterText: string | null): string {
  const side = (name: string, t: string | null): [string, string] => {
    if (t === null) return ["/dev/null", "/dev/null"];
    const file = join(work, name);
    writeFileSync(file, t);
    return [file, `${name === "old" ? "a" : "b"}${path}`];
  };
  const [oldFile, oldLabel] = side("old", before);
  const [newFile, newLabel] = side("new", afterText);
  const r = spawnSync("diff", ["-u", "--label", oldLabel, "--label", newLabel, oldFile, newFile], {
    encoding: "utf8",
  });
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  return r.stdout.replace(
    /^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@$/gm,
    (_m, a: string, an: string | undefined, b: string, bn: string | undefined) =>
      `@@ -${a}${an ?? ",1"} +${b}${bn ?? ",1"} @@`,
  );
}

const numbered = (n: number, from = 1): string[] =>
  Array.from({ length: n }, (_, i) => `line ${String(from + i)}`);
const file = (ls: readonly string[]): string => ls.map((l) => `${l}\n`).join("");
const replaced = (ls: readonly string[], at: Record<number, string | null>): string[] =>
  ls.flatMap((l, i) => {
    const r = at[i + 1];
    return r === undefined ? [l] : r === null ? [] : [r];
  });
const ten = numbered(10);
const golden = (c: string, tree: "input" | "expected", path: string): string =>
  readFileSync(join(goldenRoot, c, tree, path), "utf8");

describe(
  "unifiedDiff against GNU diff -u",
  { skip: gnuDiff === null && "no GNU diff here" },
  () => {
    const table: [string, string | null, string | null, RegExp][] = [
      [
        "a change in the middle: 3 lines of context each side",
        file(ten),
        file(replaced(ten, { 5: "five" })),
        /^@@ -2,7 \+2,7 @@$/m,
      ],
      [
        "a change on the first line: context after only",
        file(ten),
        file(replaced(ten, { 1: "one" })),
        /^@@ -1,4 \+1,4 @@$/m,
      ],
      [
        "a change on the last line: context before only",
        file(ten),
        file(replaced(ten, { 10: "ten" })),
        /^@@ -7,4 \+7,4 @@$/m,
      ],
      ["a one-line file changed: counts of 1", "x\n", "y\n", /^@@ -1,1 \+1,1 @@$/m],
      [
        "a pure insert",
        file(ten),
        file([...ten.slice(0, 5), "new", ...ten.slice(5)]),
        /^@@ -3,6 \+3,7 @@$/m,
      ],
      ["a pure delete", file(ten), file(replaced(ten, { 5: null })), /^@@ -2,7 \+2,6 @@$/m],
      [
        "lines appended to the end",
        file(ten),
        file([...ten, "eleven", "twelve"]),
        /^@@ -8,3 \+8,5 @@$/m,
      ],
      ["into an empty file", "", file(["a", "b"]), /^@@ -0,0 \+1,2 @@$/m],
      ["to an empty file", file(["a", "b"]), "", /^@@ -1,2 \+0,0 @@$/m],
      [
        "created (no file before): /dev/null",
        null,
        file(["a", "b", "c"]),
        /^--- \/dev\/null\n\+\+\+ b\/etc\/x\n@@ -0,0 \+1,3 @@$/m,
      ],
      [
        "removed (no file after): /dev/null",
        file(["a", "b", "c"]),
        null,
        /^--- a\/etc\/x\n\+\+\+ \/dev\/null\n@@ -1,3 \+0,0 @@$/m,
      ],
      [
        "two changes 6 unchanged lines apart: one hunk (their context touches)",
        file(numbered(20)),
        file(replaced(numbered(20), { 5: "five", 12: "twelve" })),
        /^@@ -2,14 \+2,14 @@$/m,
      ],
      [
        "two changes 7 unchanged lines apart: two hunks",
        file(numbered(20)),
        file(replaced(numbered(20), { 5: "five", 13: "thirteen" })),
        /^@@ -2,7 \+2,7 @@\n(?:.*\n){8}@@ -10,7 \+10,7 @@$/m,
      ],
      [
        "CRLF lines: the carriage return is part of the line",
        "a\r\nb\r\nc\r\n",
        "a\r\nB\r\nc\r\n",
        /^-b\r\n\+B\r$/m,
      ],
      [
        "a real merge: the AKS config with our entry appended (golden aks-merge-yaml)",
        golden("aks-merge-yaml", "input", "var/lib/kubelet/credential-provider-config.yaml"),
        golden("aks-merge-yaml", "expected", "var/lib/kubelet/credential-provider-config.yaml"),
        /^@@ -10,3 \+10,24 @@$/m,
      ],
      [
        "a real flags edit: duplicates and both flag forms (golden kubeadm-rpm-single-quoted-duplicates)",
        golden("kubeadm-rpm-single-quoted-duplicates", "input", "etc/sysconfig/kubelet"),
        golden("kubeadm-rpm-single-quoted-duplicates", "expected", "etc/sysconfig/kubelet"),
        /^@@ -1,3 \+1,3 @@$/m,
      ],
      [
        "a large file, one line changed: one hunk, as GNU finds it",
        file(numbered(2000)),
        file(replaced(numbered(2000), { 1000: "one thousand" })),
        /^@@ -997,7 \+997,7 @@$/m,
      ],
    ];
    for (const [name, before, afterText, hunk] of table) {
      it(name, () => {
        const ours = unifiedDiff("/etc/x", before, afterText);
        assert.match(ours, hunk);
        assert.equal(ours, gnu("/etc/x", before, afterText));
      });
    }
    it("bad beside good: the oracle tells two different diffs apart", () => {
      const ours = unifiedDiff("/etc/x", file(ten), file(replaced(ten, { 5: "five" })));
      assert.notEqual(ours, gnu("/etc/x", file(ten), file(replaced(ten, { 5: "FIVE" }))));
    });
  },
);

describe("unifiedDiff where it is not GNU diff (pinned)", () => {
  it("identical inputs: the two header lines and no hunk (GNU prints nothing)", () => {
    assert.equal(unifiedDiff("/etc/x", "a\n", "a\n"), "--- a/etc/x\n+++ b/etc/x\n");
  });
  it("both sides absent: /dev/null twice and no hunk", () => {
    assert.equal(unifiedDiff("/etc/x", null, null), "--- /dev/null\n+++ /dev/null\n");
  });
  it("no trailing newline: read as if it had one, no `\\ No newline` marker", () => {
    assert.equal(
      unifiedDiff("/etc/x", "a\nb", "a\nB"),
      "--- a/etc/x\n+++ b/etc/x\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n",
    );
    // So a change in the final newline alone shows as headers without a hunk.
    assert.equal(unifiedDiff("/etc/x", "a\nb", "a\nb\n"), "--- a/etc/x\n+++ b/etc/x\n");
  });
  it("repeated lines may be aligned differently from GNU, with as many changed lines", () => {
    // Both are shortest edit scripts; only where the kept lines sit differs.
    const a = file(["a", "b", "a", "b"]);
    const b = file(["b", "a", "b", "a"]);
    const changed = (d: string): number =>
      d.split("\n").filter((l) => /^[-+](?![-+]{2} )/.test(l)).length;
    assert.equal(changed(unifiedDiff("/etc/x", a, b)), 2);
    if (gnuDiff !== null) assert.equal(changed(gnu("/etc/x", a, b)), 2);
  });
});

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const password = "FAKE-dry-run-password-42";
const policy = (user: string, pw: string): Uint8Array =>
  enc(
    formatPolicy(["reg.example.test"], {
      scoped: false,
      credentials: [{ key: "reg.example.test", username: user, password: pw }],
    }),
  );
const binaryBefore = enc("#!/bin/sh\necho provider v1 BINARY-BODY\n");
const binaryAfter = enc("#!/bin/sh\necho provider v2 BINARY-BODY\n");
const config = (providers: string): string =>
  `apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n${providers}`;

function write(
  path: string,
  role: FileWrite["role"],
  before: [Uint8Array, number] | null,
  bytes: Uint8Array,
  mode: number,
  action: FileWrite["action"] = before === null ? "create" : "update",
): FileWrite {
  return {
    path,
    role,
    action,
    before: before === null ? null : { bytes: before[0], mode: before[1] },
    mode,
    bytes,
  };
}

const applyPlan: Plan = {
  mkdirs: [{ path: "/etc/nodecred/credentials", mode: 0o700, owned: true }],
  writes: [
    write(
      "/etc/nodecred/bin/nodecred",
      "provider-binary",
      [binaryBefore, 0o755],
      binaryAfter,
      0o755,
    ),
    write(
      "/etc/nodecred/credentials/policy.json",
      "credentials",
      [policy("fake-user", `${password}-old`), 0o600],
      policy("fake-robot", password),
      0o600,
    ),
    write(
      "/etc/nodecred/credential-provider-config.yaml",
      "provider-config",
      null,
      enc(config("  - name: nodecred\n")),
      0o644,
    ),
    write("/etc/sysconfig/kubelet", "kubelet-flags", [enc("A=1\n"), 0o600], enc("A=2\n"), 0o640),
  ],
  removals: [
    {
      path: "/etc/nodecred/bin/old-name",
      role: "provider-binary",
      before: { bytes: binaryBefore, mode: 0o755 },
    },
  ],
  removalsAfterRestart: true,
  rmdirs: [],
  restart: {
    unit: "kubelet",
    reasons: [
      "provider-config /etc/nodecred/credential-provider-config.yaml created",
      "kubelet-flags /etc/sysconfig/kubelet updated",
    ],
  },
};

describe("describePlan: the whole plan, never a credential or a binary's bytes", () => {
  it("an apply: mkdir, each write with its diff, the binary by size and hash, the restart, then the removals it waits for", () => {
    assert.equal(
      describePlan(applyPlan),
      [
        "mkdir /etc/nodecred/credentials mode 0700",
        "update /etc/nodecred/bin/nodecred mode 0755",
        `  (${String(binaryBefore.length)} bytes, sha256 ${sha(binaryBefore)}) -> (${String(binaryAfter.length)} bytes, sha256 ${sha(binaryAfter)})`,
        "update /etc/nodecred/credentials/policy.json mode 0600",
        "  policy file, rules and registry keys (credentials not shown):",
        "  --- a/etc/nodecred/credentials/policy.json",
        "  +++ b/etc/nodecred/credentials/policy.json",
        '  credentials for "reg.example.test" changed',
        "create /etc/nodecred/credential-provider-config.yaml mode 0644",
        "--- /dev/null",
        "+++ b/etc/nodecred/credential-provider-config.yaml",
        "@@ -0,0 +1,4 @@",
        "+apiVersion: kubelet.config.k8s.io/v1",
        "+kind: CredentialProviderConfig",
        "+providers:",
        "+  - name: nodecred",
        "update /etc/sysconfig/kubelet mode 0640 (was 0600)",
        "--- a/etc/sysconfig/kubelet",
        "+++ b/etc/sysconfig/kubelet",
        "@@ -1,1 +1,1 @@",
        "-A=1",
        "+A=2",
        "restart kubelet: provider-config /etc/nodecred/credential-provider-config.yaml created; kubelet-flags /etc/sysconfig/kubelet updated",
        "remove /etc/nodecred/bin/old-name (once the kubelet runs healthy on the new config; kept while its restart is pending)",
        "",
      ].join("\n"),
    );
  });

  it("no password, no username, no byte of the binary: bad beside good", () => {
    const shown = describePlan(applyPlan);
    for (const s of [password, "fake-user", "fake-robot", "BINARY-BODY"]) {
      assert.ok(!shown.includes(s), `${s} shown`);
    }
    // The same secret in a file of another role would be shown: the check above can fail.
    const leaky = write("/etc/x", "provider-config", null, policy("fake-user", password), 0o644);
    assert.ok(describePlan({ ...applyPlan, writes: [leaky] }).includes(password));
  });

  it("a binary created: absent before", () => {
    const plan: Plan = {
      ...applyPlan,
      mkdirs: [],
      writes: [write("/etc/nodecred/bin/nodecred", "provider-binary", null, binaryAfter, 0o755)],
      removals: [],
      restart: null,
    };
    assert.equal(
      describePlan(plan),
      `create /etc/nodecred/bin/nodecred mode 0755\n  (absent) -> (${String(binaryAfter.length)} bytes, sha256 ${sha(binaryAfter)})\n`,
    );
  });

  it("a chmod: the mode change alone, no content", () => {
    const bytes = enc(config("  - name: nodecred\n"));
    const chmod = write("/etc/c.yaml", "provider-config", [bytes, 0o100600], bytes, 0o644, "chmod");
    assert.equal(
      describePlan({ ...applyPlan, mkdirs: [], writes: [chmod], removals: [], restart: null }),
      "chmod /etc/c.yaml mode 0644 (was 0600)\n",
    );
  });

  it("removals with no restart planned: removed now, in order", () => {
    assert.equal(
      describePlan({ ...applyPlan, mkdirs: [], writes: [], restart: null }),
      "remove /etc/nodecred/bin/old-name\n",
    );
  });

  it("an uninstall: restores, removals, the directories if empty, then the restart", () => {
    const plan: Plan = {
      mkdirs: [],
      writes: [
        write(
          "/etc/sysconfig/kubelet",
          "kubelet-flags",
          [enc("A=2\n"), 0o640],
          enc("A=1\n"),
          0o640,
          "restore",
        ),
      ],
      removals: [
        {
          path: "/etc/nodecred/credential-provider-config.yaml",
          role: "provider-config",
          before: { bytes: enc("x"), mode: 0o644 },
        },
        {
          path: "/etc/nodecred/credentials/policy.json",
          role: "credentials",
          before: { bytes: policy("fake-user", password), mode: 0o600 },
        },
      ],
      removalsAfterRestart: false,
      rmdirs: ["/etc/nodecred/credentials", "/etc/nodecred"],
      restart: { unit: "kubelet", reasons: ["kubelet-flags /etc/sysconfig/kubelet restored"] },
    };
    const shown = describePlan(plan);
    assert.equal(
      shown,
      [
        "restore /etc/sysconfig/kubelet mode 0640",
        "--- a/etc/sysconfig/kubelet",
        "+++ b/etc/sysconfig/kubelet",
        "@@ -1,1 +1,1 @@",
        "-A=2",
        "+A=1",
        "remove /etc/nodecred/credential-provider-config.yaml",
        "remove /etc/nodecred/credentials/policy.json",
        "rmdir /etc/nodecred/credentials (if empty)",
        "rmdir /etc/nodecred (if empty)",
        "restart kubelet: kubelet-flags /etc/sysconfig/kubelet restored",
        "",
      ].join("\n"),
    );
    assert.ok(!shown.includes(password));
  });

  it("nothing to do", () => {
    const none: Plan = {
      mkdirs: [],
      writes: [],
      removals: [],
      removalsAfterRestart: true,
      rmdirs: [],
      restart: null,
    };
    assert.equal(describePlan(none), "no changes\n");
  });
});
