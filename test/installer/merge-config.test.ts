// Someone else's CredentialProviderConfig edited by provider name (installer/core/kubelet/
// merge-config.ts): read once by the strict reader, only our entries' lines change, everything
// else comes back byte for byte; a config the kubelet could not read is refused, saying why.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  editProviders,
  readForeignConfig,
  type ProviderEdit,
} from "../../installer/core/kubelet/merge-config.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const providersOf = (json: string): unknown =>
  (JSON.parse(json) as { providers: unknown }).providers;
const ours = {
  apiVersion: "credentialprovider.kubelet.k8s.io/v1",
  defaultCacheDuration: "0s",
  matchImages: ["*"],
  name: "nodecred",
};
const ourItem = (pad: string): string =>
  [
    `${pad}- apiVersion: credentialprovider.kubelet.k8s.io/v1`,
    `${pad}  defaultCacheDuration: 0s`,
    `${pad}  matchImages:`,
    `${pad}    - "*"`,
    `${pad}  name: nodecred`,
    "",
  ].join("\n");

function edit(text: string, e: ProviderEdit): string {
  const cfg = readForeignConfig(enc(text), "/etc/x.yaml");
  assert.ok(cfg.ok, JSON.stringify(cfg));
  return dec(editProviders(cfg.value, e));
}
const put: ProviderEdit = { remove: [], put: [ours] };

const theirs = `# managed by the node image
apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: ecr  # theirs
    matchImages:
    - "*.dkr.ecr.*.amazonaws.com"
    defaultCacheDuration: "12h"
    apiVersion: credentialprovider.kubelet.k8s.io/v1
`;

describe("editProviders, YAML", () => {
  const cases: [string, string, ProviderEdit, string][] = [
    [
      "ours appended at the list's indentation, their bytes kept",
      theirs,
      put,
      theirs + ourItem("  "),
    ],
    [
      "a list whose dashes are not indented",
      "providers:\n- name: a\n  apiVersion: v\n",
      put,
      `providers:\n- name: a\n  apiVersion: v\n${ourItem("")}`,
    ],
    [
      "a last line without a newline gets one before ours",
      "providers:\n  - name: a",
      put,
      `providers:\n  - name: a\n${ourItem("  ")}`,
    ],
    [
      "ours replaced where it stands, the entries after it kept",
      `providers:\n  - name: nodecred\n    old: true\n  # theirs next\n  - name: b\n`,
      put,
      `providers:\n${ourItem("  ")}  # theirs next\n  - name: b\n`,
    ],
    [
      "an earlier name taken out, the new one added",
      `providers:\n  - name: a\n  - name: nodecred-old\n    x: 1\nafter: 1\n`,
      { remove: ["nodecred-old"], put: [ours] },
      `providers:\n  - name: a\n${ourItem("  ")}after: 1\n`,
    ],
    [
      "uninstall: ours taken out, nothing else",
      theirs + ourItem("  "),
      { remove: ["nodecred"], put: [] },
      theirs,
    ],
    ["nothing to do: the text as it was", theirs, { remove: ["absent"], put: [] }, theirs],
  ];
  for (const [name, text, e, want] of cases) {
    it(name, () => {
      assert.equal(edit(text, e), want);
    });
  }

  it("a flow list or no list at all: written out again, and it reads back", () => {
    for (const text of ["providers: []\n", "kind: CredentialProviderConfig\n", "providers:\n"]) {
      const out = edit(text, put);
      const back = readForeignConfig(enc(out), "/x");
      assert.ok(back.ok, out);
      assert.deepEqual(back.value.names, ["nodecred"], out);
    }
  });

  it("does not change what it was given: the same edit twice gives the same bytes", () => {
    const cfg = readForeignConfig(enc(theirs), "/x");
    assert.ok(cfg.ok);
    assert.equal(dec(editProviders(cfg.value, put)), dec(editProviders(cfg.value, put)));
    assert.deepEqual(cfg.value.names, ["ecr"]);
  });
});

describe("editProviders, JSON", () => {
  const json =
    '{\n    "kind": "CredentialProviderConfig",\n    "providers": [\n        {"name": "ecr"}\n    ]\n}';
  it("keeps the file's indentation and its missing final newline", () => {
    const out = edit(json, put);
    assert.ok(!out.endsWith("\n"));
    assert.ok(out.includes('\n    "providers": [\n        {\n            "name": "ecr"'), out);
    assert.deepEqual(
      (providersOf(out) as { name: string }[]).map((p) => p.name),
      ["ecr", "nodecred"],
    );
  });
  it("keeps a final newline", () => {
    assert.ok(edit(`${json}\n`, put).endsWith("}\n"));
  });
  it("uninstall takes ours out again", () => {
    const out = edit(edit(`${json}\n`, put), { remove: ["nodecred"], put: [] });
    assert.deepEqual(providersOf(out), [{ name: "ecr" }]);
  });
});

describe("readForeignConfig", () => {
  it("lists the providers by name, in order", () => {
    const cfg = readForeignConfig(enc(`${theirs}${ourItem("  ")}`), "/x");
    assert.ok(cfg.ok);
    assert.deepEqual(cfg.value.names, ["ecr", "nodecred"]);
    assert.equal(cfg.value.format, "yaml");
  });
  const refused: [string, Uint8Array, RegExp][] = [
    ["not UTF-8", new Uint8Array([0x6b, 0x3a, 0x20, 0xff, 0x0a]), /not UTF-8/],
    [
      "duplicate keys (the kubelet's strict decoding refuses them too)",
      enc('{"kind": "a", "kind": "b"}'),
      /Map keys must be unique/,
    ],
    ["two documents", enc("a: 1\n---\nb: 2\n"), /one YAML document/],
    ["a list, not a mapping", enc("- a\n"), /not a YAML mapping/],
    ["a JSON array", enc("[1]"), /not a YAML mapping|not a JSON object/],
    ["providers not a list", enc("providers: 3\n"), /providers: not a list/],
    ["empty", enc(""), /empty document/],
  ];
  for (const [name, bytes, why] of refused) {
    it(`refuses ${name}, saying why`, () => {
      const r = readForeignConfig(bytes, "/etc/x");
      assert.equal(r.ok, false);
      assert.match(r.problems.map((p) => `${p.path}: ${p.message}`).join("; "), why);
    });
  }
  it("never quotes the file in a message (it may hold a secret)", () => {
    const r = readForeignConfig(enc('providers:\n  - env: "s3cr3t-value\n'), "/etc/x");
    assert.equal(r.ok, false);
    assert.ok(!JSON.stringify(r.problems).includes("s3cr3t"));
  });
});
