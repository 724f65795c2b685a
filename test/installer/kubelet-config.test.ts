/**
 * What only a kubelet restart can change (installer/core/kubelet/kubelet-spec.ts): for a table of
 * ConfigMap edits, whether the kubelet config hash (the DaemonSet template's) changes and what
 * restartReasons says; the two always agree. Then the status file apply leaves for the sync
 * container (parseAppliedStatus).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { settingsFromConfigMapText } from "../../installer/core/settings/configmap.ts";
import {
  kubeletConfigHash,
  kubeletSpec,
  kubeletSpecHash,
  parseAppliedStatus,
  parseKubeletSpec,
  restartReasons,
  type AppliedStatus,
} from "../../installer/core/kubelet/kubelet-spec.ts";
import { repoRoot } from "./golden.ts";
import { entryTemplate, settingsOf } from "./templates.ts";

const base = { matchImages: "registry.example.test\n*.registry.example.test:5000/team" };
const template = entryTemplate();

interface Case {
  readonly name: string;
  readonly before: Record<string, string>;
  readonly after: Record<string, string>;
  /** Each expected reason, as a pattern; none: no restart, the hash stays. */
  readonly reasons: readonly RegExp[];
}

const cases: readonly Case[] = [
  { name: "nothing changed", before: base, after: { ...base }, reasons: [] },
  {
    name: "comments and blank lines only",
    before: base,
    after: { matchImages: `# ours\n\n${base.matchImages}\n` },
    reasons: [],
  },
  {
    name: "a registry on a port already used (5000)",
    before: base,
    after: { matchImages: `${base.matchImages}\nother.example.test:5000` },
    reasons: [],
  },
  {
    name: "a registry with no port",
    before: base,
    after: { matchImages: `${base.matchImages}\nnew.example.test/team` },
    reasons: [],
  },
  {
    name: "a pattern's path changed",
    before: base,
    after: { matchImages: "registry.example.test\n*.registry.example.test:5000/other" },
    reasons: [],
  },
  {
    name: "a registry removed while its port stays in use",
    before: { matchImages: `${base.matchImages}\nother.example.test:5000` },
    after: base,
    reasons: [],
  },
  {
    name: "a 7-segment host (the minimum envelope covers it)",
    before: base,
    after: { matchImages: `${base.matchImages}\n*.dkr.ecr.cn-north-1.amazonaws.com.cn` },
    reasons: [],
  },
  {
    name: "a new port",
    before: base,
    after: { matchImages: `${base.matchImages}\nother.example.test:8443` },
    reasons: [/^matchImages use port 8443, which the kubelet's envelope does not cover$/],
  },
  {
    name: "05000 beside 5000 is a new port",
    before: base,
    after: { matchImages: `${base.matchImages}\nother.example.test:05000` },
    reasons: [/^matchImages use port 05000, /],
  },
  {
    name: "two new ports: one reason naming both",
    before: { matchImages: "registry.example.test" },
    after: { matchImages: "a.example.test:443\nb.example.test:5000" },
    reasons: [/^matchImages use port 443, port 5000, /],
  },
  {
    name: "an 8-segment host",
    before: base,
    after: { matchImages: `${base.matchImages}\na.b.c.d.e.f.g.h` },
    reasons: [/^a matchImages host has 8 dot-segments; the envelope covers 7$/],
  },
  {
    name: "the 8-segment host removed: the envelope shrinks",
    before: { matchImages: `${base.matchImages}\na.b.c.d.e.f.g.h` },
    after: base,
    reasons: [
      /^no matchImages host has more than 7 dot-segments any more \(the envelope shrinks from 8\)$/,
    ],
  },
  {
    name: "the only port-5000 pattern removed: the envelope shrinks",
    before: base,
    after: { matchImages: "registry.example.test" },
    reasons: [/^matchImages no longer use port 5000 \(the envelope shrinks\)$/],
  },
  {
    name: "a port swapped for another: both reasons",
    before: base,
    after: { matchImages: "registry.example.test\n*.registry.example.test:5001/team" },
    reasons: [/use port 5001, /, /no longer use port 5000 /],
  },
  {
    name: "providerName",
    before: base,
    after: { ...base, providerName: "other" },
    reasons: [/^providerName nodecred -> other$/],
  },
  {
    name: "defaultCacheDuration",
    before: base,
    after: { ...base, defaultCacheDuration: "5m" },
    reasons: [/^defaultCacheDuration 0s -> 5m$/],
  },
  {
    name: "defaultCacheDuration written out as its default: no change",
    before: base,
    after: { ...base, defaultCacheDuration: "0s" },
    reasons: [],
  },
  {
    name: "a template added",
    before: base,
    after: { ...base, credentialProviderConfigTemplate: template },
    reasons: [/^credentialProviderConfigTemplate changed$/],
  },
  {
    name: "a template edited",
    before: { ...base, credentialProviderConfigTemplate: template },
    after: { ...base, credentialProviderConfigTemplate: `${template}# edited\n` },
    reasons: [/^credentialProviderConfigTemplate changed$/],
  },
  {
    name: "the template removed",
    before: { ...base, credentialProviderConfigTemplate: template },
    after: base,
    reasons: [/^credentialProviderConfigTemplate removed$/],
  },
  {
    name: "matching live -> kubelet: that one reason, whatever the patterns did",
    before: base,
    after: { matchImages: "other.example.test:8443", matching: "kubelet" },
    reasons: [/^matching live -> kubelet$/],
  },
  {
    name: "matching kubelet -> live",
    before: { ...base, matching: "kubelet" },
    after: base,
    reasons: [/^matching kubelet -> live$/],
  },
  {
    name: "kubelet mode, nothing changed",
    before: { ...base, matching: "kubelet" },
    after: { ...base, matching: "kubelet" },
    reasons: [],
  },
  {
    name: "kubelet mode: a registry on a port already used restarts",
    before: { ...base, matching: "kubelet" },
    after: { matchImages: `${base.matchImages}\nother.example.test:5000`, matching: "kubelet" },
    reasons: [
      /^matchImages changed, and with matching: kubelet the kubelet registers them itself$/,
    ],
  },
  {
    name: "kubelet mode: a path edit restarts",
    before: { ...base, matching: "kubelet" },
    after: {
      matchImages: "registry.example.test\n*.registry.example.test:5000/other",
      matching: "kubelet",
    },
    reasons: [/^matchImages changed, /],
  },
  {
    name: "kubelet mode: reordering restarts (the config's list changes)",
    before: { ...base, matching: "kubelet" },
    after: {
      matchImages: "*.registry.example.test:5000/team\nregistry.example.test",
      matching: "kubelet",
    },
    reasons: [/^matchImages changed, /],
  },
  {
    name: "credentialSets added: the kubelet must send tokens",
    before: base,
    after: { ...base, credentialSets: "{}" },
    reasons: [
      /^credentialSets added: scoped credentials, the kubelet sends service account tokens/,
    ],
  },
  {
    name: "credentialSets removed",
    before: { ...base, credentialSets: "{}" },
    after: base,
    reasons: [/^credentialSets removed: unscoped credentials/],
  },
  {
    name: "credentialSets edited: the sets live in the policy file, no restart",
    before: { ...base, credentialSets: "{}" },
    after: {
      ...base,
      credentialSets: "team-a:\n  secret: a\n  namespaces: [team-a]\ndefault:\n  namespaces: []\n",
    },
    reasons: [],
  },
];

describe("kubelet config hash and restart reasons", () => {
  for (const c of cases) {
    it(c.name, () => {
      const before = settingsOf(c.before);
      const after = settingsOf(c.after);
      const reasons = restartReasons(kubeletSpec(before), kubeletSpec(after));
      assert.equal(reasons.length, c.reasons.length, JSON.stringify(reasons));
      c.reasons.forEach((want, i) => {
        assert.match(reasons[i] ?? "", want);
      });
      // The hash the DaemonSet carries changes exactly when the kubelet must restart.
      assert.equal(
        kubeletConfigHash(before) !== kubeletConfigHash(after),
        c.reasons.length > 0,
        "hash and reasons disagree",
      );
    });
  }

  it("an unknown node config always restarts", () => {
    assert.deepEqual(restartReasons(null, kubeletSpec(settingsOf(base))), [
      "this node's kubelet config is not known",
    ]);
  });

  it("the hash is 16 hex digits of the spec, and kubeletConfigHash is that of kubeletSpec", () => {
    const s = settingsOf(base);
    assert.match(kubeletConfigHash(s), /^[0-9a-f]{16}$/);
    assert.equal(kubeletConfigHash(s), kubeletSpecHash(kubeletSpec(s)));
  });

  it("the spec registers the envelope (live) or matchImages (kubelet)", () => {
    const live = kubeletSpec(settingsOf(base));
    assert.deepEqual(live.envelope, { ports: ["", "5000"], segments: 7 });
    assert.equal(live.registered.length, 14);
    assert.equal(live.templateSha256, null);
    const kubelet = kubeletSpec(settingsOf({ ...base, matching: "kubelet" }));
    assert.equal(kubelet.envelope, null);
    assert.deepEqual(kubelet.registered, [
      "registry.example.test",
      "*.registry.example.test:5000/team",
    ]);
  });
});

describe("the hash of an unscoped config is the one nodecred gave it before scoped credentials", () => {
  // Computed with the code at 3572875 (before credentialSets existed): an upgrade of nodecred
  // must not roll a kubelet restart over every node.
  const pinned: [file: string, live: string, kubelet: string][] = [
    ["manifests/configmap.yaml", "57fd09908777cb10", "ccf0c454f8e07f51"],
    ["test/golden/installer/configmap.yaml", "8d78086913323a09", "53a724e704cec531"],
  ];
  for (const [file, live, kubelet] of pinned) {
    it(file, () => {
      const r = settingsFromConfigMapText(readFileSync(join(repoRoot, file), "utf8"));
      if (!r.ok) assert.fail(JSON.stringify(r.problems));
      assert.equal(r.value.credentialSets, null);
      assert.equal(kubeletConfigHash(r.value), live);
      assert.equal(kubeletConfigHash({ ...r.value, matching: "kubelet" }), kubelet);
      // Bad beside good: scoped, the same settings hash differently.
      assert.notEqual(kubeletConfigHash({ ...r.value, credentialSets: [] }), live);
    });
  }
});

describe("parseAppliedStatus", () => {
  const spec = kubeletSpec(settingsOf(base));
  const status: AppliedStatus = {
    kubeletConfigHash: kubeletSpecHash(spec),
    kubelet: spec,
    flavour: "kubeadm-rpm",
    restarted: true,
  };
  const text = (v: unknown): string => `${JSON.stringify(v)}\n`;
  const kubeletMode = kubeletSpec(settingsOf({ ...base, matching: "kubelet" }));

  it("reads back what apply writes", () => {
    assert.deepEqual(parseAppliedStatus(text(status)), status);
  });
  it("a kubelet-mode spec (no envelope) too", () => {
    const s = { ...status, kubelet: kubeletMode, kubeletConfigHash: kubeletSpecHash(kubeletMode) };
    assert.deepEqual(parseAppliedStatus(text(s)), s);
  });
  it("a template's sha256 too", () => {
    const withTemplate = kubeletSpec(
      settingsOf({ ...base, credentialProviderConfigTemplate: template }),
    );
    assert.match(withTemplate.templateSha256 ?? "", /^[0-9a-f]{64}$/);
    assert.deepEqual(
      parseAppliedStatus(text({ ...status, kubelet: withTemplate }))?.kubelet,
      withTemplate,
    );
  });

  const bad: [name: string, text: string][] = [
    ["not JSON", "{"],
    ["not an object", text([status])],
    [
      "nodecred 0.1's status file",
      text({ configHash: "0123456789abcdef", flavour: "kubeadm-rpm", restarted: false }),
    ],
    ["no kubelet spec", text({ ...status, kubelet: undefined })],
    ["hash not a string", text({ ...status, kubeletConfigHash: 1 })],
    ["restarted not a boolean", text({ ...status, restarted: "yes" })],
    ["flavour missing", text({ ...status, flavour: undefined })],
    ["unknown matching", text({ ...status, kubelet: { ...spec, matching: "both" } })],
    ["providerName not a string", text({ ...status, kubelet: { ...spec, providerName: null } })],
    ["registered not strings", text({ ...status, kubelet: { ...spec, registered: [1] } })],
    ["envelope not an object", text({ ...status, kubelet: { ...spec, envelope: "7" } })],
    [
      "segments not an integer",
      text({ ...status, kubelet: { ...spec, envelope: { ports: [""], segments: 7.5 } } }),
    ],
    [
      "ports not strings",
      text({ ...status, kubelet: { ...spec, envelope: { ports: [5000], segments: 7 } } }),
    ],
    ["templateSha256 a number", text({ ...status, kubelet: { ...spec, templateSha256: 0 } })],
  ];
  for (const [name, t] of bad) {
    it(`null for ${name}`, () => {
      assert.equal(parseAppliedStatus(t), null);
    });
  }
  it("a scoped spec too; a status file written before scopes existed reads as unscoped", () => {
    const scoped = kubeletSpec(settingsOf({ ...base, credentialSets: "{}" }));
    assert.equal(scoped.scoped, true);
    assert.deepEqual(parseAppliedStatus(text({ ...status, kubelet: scoped }))?.kubelet, scoped);
    const { scoped: _, ...older } = spec;
    assert.deepEqual(parseAppliedStatus(text({ ...status, kubelet: older }))?.kubelet, {
      ...spec,
      scoped: false,
    });
    assert.equal(
      parseAppliedStatus(text({ ...status, kubelet: { ...spec, scoped: "yes" } })),
      null,
    );
  });
  it("parseKubeletSpec: null for anything but a spec", () => {
    assert.equal(parseKubeletSpec(null), null);
    assert.equal(parseKubeletSpec([]), null);
    assert.deepEqual(parseKubeletSpec(JSON.parse(JSON.stringify(spec))), spec);
  });
});
