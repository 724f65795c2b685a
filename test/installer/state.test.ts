import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isCleanHostPath } from "../../installer/core/node/host-path.ts";
import {
  backupPathFor,
  emptyState,
  parseState,
  serializeState,
  withFile,
  withoutFailure,
  type FailedApply,
  type NodeState,
} from "../../installer/core/node/state.ts";

const state: NodeState = withFile(
  { ...emptyState("kubeadm-rpm", "kubelet"), dirs: ["/etc/nodecred"], providerNames: ["nodecred"] },
  {
    path: "/etc/sysconfig/kubelet",
    role: "kubelet-flags",
    origin: "modified",
    backup: "/var/lib/nodecred/backup/%2Fetc%2Fsysconfig%2Fkubelet",
    originalMode: 0o640,
    writtenSha256: "ab".repeat(32),
  },
);
const text = new TextDecoder().decode(serializeState(state));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const edited = (edit: (v: Record<string, unknown>) => void): Uint8Array => {
  const v = JSON.parse(text) as Record<string, unknown>;
  edit(v);
  return enc(JSON.stringify(v));
};
const file0 = (v: Record<string, unknown>): Record<string, unknown> =>
  (v["files"] as Record<string, unknown>[])[0] as Record<string, unknown>;
const failedApply: FailedApply = {
  configHash: "cd".repeat(32),
  providerSha256: "ef".repeat(32),
  at: "2024-05-01T12:00:00.000Z",
  reason: "kubelet exited 1",
};

describe("state file parsing", () => {
  it("reads back what it wrote", () => {
    assert.deepEqual(parseState(serializeState(state)), { ok: true, value: state });
  });
  it("reads back a failedApply, and withoutFailure clears it", () => {
    const failed: NodeState = { ...state, pendingRestart: true, failedApply };
    assert.deepEqual(parseState(serializeState(failed)), { ok: true, value: failed });
    const cleared = withoutFailure(failed);
    assert.equal("failedApply" in cleared, false);
    assert.deepEqual(parseState(serializeState(cleared)), { ok: true, value: cleared });
    assert.equal(withoutFailure(state), state, "nothing to clear: the same state");
  });
  it("reads back several files and names, in the sorted order it writes them", () => {
    const many: NodeState = {
      ...state,
      providerNames: ["zeta", "nodecred"],
      files: [
        ...state.files,
        {
          path: "/etc/nodecred/bin/nodecred",
          role: "provider-binary",
          origin: "created",
          backup: null,
          originalMode: null,
          writtenSha256: null,
        },
      ],
    };
    const r = parseState(serializeState(many));
    assert.ok(r.ok);
    assert.deepEqual(r.value, {
      ...many,
      providerNames: ["nodecred", "zeta"],
      files: [...many.files].sort((a, b) => a.path.localeCompare(b.path)),
    });
    assert.deepEqual(
      r.value.files.map((f) => f.path),
      ["/etc/nodecred/bin/nodecred", "/etc/sysconfig/kubelet"],
    );
  });
  it("an older record without providerNames, dirs or pendingRestart: empty and false", () => {
    const r = parseState(
      edited((v) => {
        delete v["providerNames"];
        delete v["dirs"];
        delete v["pendingRestart"];
      }),
    );
    assert.ok(r.ok);
    assert.deepEqual(
      [r.value.providerNames, r.value.dirs, r.value.pendingRestart],
      [[], [], false],
    );
  });
  it("pendingRestart is true only when it is true (not a truthy value)", () => {
    const r = parseState(edited((v) => (v["pendingRestart"] = "true")));
    assert.ok(r.ok);
    assert.equal(r.value.pendingRestart, false);
  });
  const refused: [string, Uint8Array, RegExp][] = [
    ["empty", enc(""), /not valid JSON/],
    ["not UTF-8", new Uint8Array([0x7b, 0xff, 0x7d]), /not valid JSON/],
    ["an array", enc("[]"), /not a JSON object/],
    ["another version", edited((v) => (v["version"] = 2)), /version 2/],
    ["unknown flavour", edited((v) => (v["flavour"] = "windows")), /unknown flavour/],
    ["no files list", edited((v) => delete v["files"]), /no files list/],
    ["relative path", edited((v) => (file0(v)["path"] = "etc/x")), /files\[0\]\.path/],
    ["path with ..", edited((v) => (file0(v)["path"] = "/etc/../../x")), /files\[0\]\.path/],
    ["unknown role", edited((v) => (file0(v)["role"] = "kubeconfig")), /files\[0\]\.role/],
    ["unknown origin", edited((v) => (file0(v)["origin"] = "found")), /files\[0\]\.origin/],
    ["backup not a path", edited((v) => (file0(v)["backup"] = 7)), /files\[0\]\.backup/],
    ["mode out of range", edited((v) => (file0(v)["originalMode"] = 0o10000)), /originalMode/],
    ["dirs with a relative path", edited((v) => (v["dirs"] = ["etc"])), /dirs/],
    ["half a failedApply", edited((v) => (v["failedApply"] = { at: "x" })), /failedApply/],
    // One row per remaining refusal in parseState, each reaching its own reason.
    ["null", enc("null"), /^not a JSON object$/],
    ["a string", enc('"state"'), /^not a JSON object$/],
    ["no version", edited((v) => delete v["version"]), /^version undefined, expected 1$/],
    ["version as a string", edited((v) => (v["version"] = "1")), /^version "1", expected 1$/],
    ["flavour not a string", edited((v) => (v["flavour"] = 7)), /^unknown flavour$/],
    ["no flavour", edited((v) => delete v["flavour"]), /^unknown flavour$/],
    ["unit empty", edited((v) => (v["unit"] = "")), /^no unit$/],
    ["no unit", edited((v) => delete v["unit"]), /^no unit$/],
    ["unit not a string", edited((v) => (v["unit"] = ["kubelet"])), /^no unit$/],
    ["files an object", edited((v) => (v["files"] = { 0: file0(v) })), /^no files list$/],
    [
      "files entry a string",
      edited((v) => (v["files"] = ["/etc/x"])),
      /^files\[0\] is not an object$/,
    ],
    ["files entry null", edited((v) => (v["files"] = [null])), /^files\[0\] is not an object$/],
    ["files entry an array", edited((v) => (v["files"] = [[]])), /^files\[0\] is not an object$/],
    [
      "the second files entry bad: named by its index",
      edited((v) => (v["files"] = [file0(v), 3])),
      /^files\[1\] is not an object$/,
    ],
    [
      "path missing",
      edited((v) => delete file0(v)["path"]),
      /^files\[0\]\.path is not a host path$/,
    ],
    [
      "path the root",
      edited((v) => (file0(v)["path"] = "/")),
      /^files\[0\]\.path is not a host path$/,
    ],
    ["role not a string", edited((v) => (file0(v)["role"] = 1)), /^files\[0\]\.role unknown$/],
    ["origin missing", edited((v) => delete file0(v)["origin"]), /^files\[0\]\.origin unknown$/],
    [
      "backup a relative path",
      edited((v) => (file0(v)["backup"] = "backup/x")),
      /^files\[0\]\.backup is not a host path$/,
    ],
    [
      "backup missing (not null)",
      edited((v) => delete file0(v)["backup"]),
      /^files\[0\]\.backup is not a host path$/,
    ],
    [
      "mode negative",
      edited((v) => (file0(v)["originalMode"] = -1)),
      /^files\[0\]\.originalMode is not a mode$/,
    ],
    [
      "mode fractional",
      edited((v) => (file0(v)["originalMode"] = 420.5)),
      /^files\[0\]\.originalMode is not a mode$/,
    ],
    [
      "mode as text",
      edited((v) => (file0(v)["originalMode"] = "0640")),
      /^files\[0\]\.originalMode is not a mode$/,
    ],
    [
      "writtenSha256 a number",
      edited((v) => (file0(v)["writtenSha256"] = 7)),
      /^files\[0\]\.writtenSha256 invalid$/,
    ],
    [
      "writtenSha256 missing (not null)",
      edited((v) => delete file0(v)["writtenSha256"]),
      /^files\[0\]\.writtenSha256 invalid$/,
    ],
    [
      "providerNames not strings",
      edited((v) => (v["providerNames"] = ["nodecred", 2])),
      /^providerNames is not a list of names$/,
    ],
    [
      "providerNames a string",
      edited((v) => (v["providerNames"] = "nodecred")),
      /^providerNames is not a list of names$/,
    ],
    [
      "dirs not a list",
      edited((v) => (v["dirs"] = "/etc/nodecred")),
      /^dirs is not a list of host paths$/,
    ],
    ["dirs not strings", edited((v) => (v["dirs"] = [1])), /^dirs is not a list of host paths$/],
    [
      "dirs with the root",
      edited((v) => (v["dirs"] = ["/"])),
      /^dirs is not a list of host paths$/,
    ],
    ...(
      [
        ["null", null],
        ["a string", "2024-01-01"],
        ["an array", []],
        ["configHash a number", { ...failedApply, configHash: 1 }],
        ["providerSha256 missing", { ...failedApply, providerSha256: undefined }],
        ["at a number", { ...failedApply, at: 0 }],
        ["reason null", { ...failedApply, reason: null }],
      ] as const
    ).map(([what, f]): [string, Uint8Array, RegExp] => [
      `failedApply ${what}`,
      edited((v) => (v["failedApply"] = f)),
      /^failedApply is not a record of a failed apply$/,
    ]),
  ];
  for (const [name, bytes, why] of refused) {
    it(`refuses ${name}, saying why`, () => {
      const r = parseState(bytes);
      assert.equal(r.ok, false);
      assert.match(r.reason, why);
    });
  }
});

describe("backup names", () => {
  it("percent-encodes a short path, readable at a glance", () => {
    assert.equal(
      backupPathFor("/var/lib/nodecred/backup", "/etc/sysconfig/kubelet"),
      "/var/lib/nodecred/backup/%2Fetc%2Fsysconfig%2Fkubelet",
    );
  });
  it("stays within the kernel's 255-byte name limit for any path, and differs per path", () => {
    const long = `/opt/${"very-long-directory-name/".repeat(12)}config.yaml`;
    const other = long.replace("config", "other");
    const a = backupPathFor("/b", long).slice(3);
    const b = backupPathFor("/b", other).slice(3);
    assert.ok(encodeURIComponent(long).length > 255);
    assert.ok(a.length <= 255 && b.length <= 255);
    assert.notEqual(a, b);
  });
});

describe("clean host paths (one rule for the state file, the kubelet's flags and the host door)", () => {
  const table: [string, boolean][] = [
    ["/etc/sysconfig/kubelet", true],
    ["/a", true],
    ["/", false],
    ["", false],
    ["etc/x", false],
    ["/etc//x", false],
    ["/etc/x/", false],
    ["/etc/./x", false],
    ["/etc/../x", false],
    ["/etc/x\0", false],
    ["/etc/..x", true],
  ];
  for (const [p, clean] of table) {
    it(`${JSON.stringify(p)}: ${clean ? "clean" : "refused"}`, () => {
      assert.equal(isCleanHostPath(p), clean);
    });
  }
});
