import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isCleanHostPath } from "../../installer/core/node/host-path.ts";
import {
  backupPathFor,
  emptyState,
  parseState,
  serializeState,
  withFile,
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

describe("state file parsing", () => {
  it("reads back what it wrote", () => {
    assert.deepEqual(parseState(serializeState(state)), { ok: true, value: state });
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
