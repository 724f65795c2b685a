/**
 * Rendering the CredentialProviderConfig (installer/core/render-config.ts): what a template sees,
 * what the built-in template registers in each matching mode, the refusal of a template that
 * registers less than matchImages (the kubelet would never ask nodecred about those images), and
 * the hint for a nodecred 0.1 template that still names credentialsFile.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSettings, type Settings } from "../../installer/core/configmap.ts";
import { envelopeFor, envelopePatterns } from "../../installer/core/envelope.ts";
import { nodecredPaths } from "../../installer/core/flavour.ts";
import {
  renderCredentialProviderConfig,
  templateContext,
} from "../../installer/core/render-config.ts";

const node = { binDir: "/etc/nodecred/bin", flavour: "kubeadm-rpm" };

function settings(data: Record<string, string>): Settings {
  const r = parseSettings(data);
  if (!r.ok) assert.fail(JSON.stringify(r.problems));
  return r.value;
}

/** A template registering exactly `patterns`, whatever matchImages says. */
function hardCoded(patterns: readonly string[]): string {
  return `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: {{json providerName}}
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    matchImages: ${JSON.stringify(patterns)}
    defaultCacheDuration: {{json defaultCacheDuration}}
    args: [{{json (concat "--policy=" policyFile)}}]
`;
}

const matchImages = "registry.example.test\n*.registry.example.test:5000/team\nlocalhost:5001";

describe("template context", () => {
  it("exactly the documented names, built once from the settings and the node", () => {
    const s = settings({ matchImages, defaultCacheDuration: "1m" });
    assert.deepEqual(templateContext(s, node), {
      providerName: "nodecred",
      matchImages: envelopePatterns(envelopeFor(s.matchImages)),
      matching: "live",
      defaultCacheDuration: "1m",
      policyFile: nodecredPaths.policyFile,
      binDir: "/etc/nodecred/bin",
      flavour: "kubeadm-rpm",
    });
    assert.equal(nodecredPaths.policyFile, "/etc/nodecred/credentials/policy.json");
  });
  it("matching: kubelet gives the patterns themselves", () => {
    const s = settings({ matchImages, matching: "kubelet" });
    assert.deepEqual(templateContext(s, node).matchImages, [
      "registry.example.test",
      "*.registry.example.test:5000/team",
      "localhost:5001",
    ]);
  });
});

describe("the built-in template", () => {
  it("live: registers the envelope, passes --policy and --cache-duration", () => {
    const r = renderCredentialProviderConfig(settings({ matchImages }), node, undefined);
    if (!r.ok) assert.fail(JSON.stringify(r.problems));
    const p = r.value.config.providers[0];
    assert.ok(p);
    assert.deepEqual(p.matchImages, envelopePatterns({ ports: ["", "5000", "5001"], segments: 7 }));
    assert.deepEqual(p.args, [
      "--policy=/etc/nodecred/credentials/policy.json",
      "--cache-duration=0s",
    ]);
    assert.equal(p.defaultCacheDuration, "0s");
    assert.doesNotMatch(r.value.text, /credentials=|docker-config/);
  });
  it("kubelet: registers matchImages as they are", () => {
    const r = renderCredentialProviderConfig(
      settings({ matchImages, matching: "kubelet" }),
      node,
      undefined,
    );
    if (!r.ok) assert.fail(JSON.stringify(r.problems));
    assert.deepEqual(r.value.config.providers[0]?.matchImages, [
      "registry.example.test",
      "*.registry.example.test:5000/team",
      "localhost:5001",
    ]);
  });
});

describe("a template must register every matchImages pattern", () => {
  const table: [name: string, registered: string[], uncovered: number[]][] = [
    [
      "the same patterns",
      ["registry.example.test", "*.registry.example.test:5000/team", "localhost:5001"],
      [],
    ],
    ["broader ones", ["*.*.*", "*.*.*.*:5000", "*:5001"], []],
    ["the port of one missing", ["registry.example.test", "*.registry.example.test:5000"], [2]],
    [
      "a narrower glob, a narrower path",
      ["registry.example.test", "a*.registry.example.test:5000/team", "localhost:5001/x"],
      [1, 2],
    ],
    ["only the first", ["registry.example.test"], [1, 2]],
  ];
  for (const [name, registered, uncovered] of table) {
    it(`${name}: ${uncovered.length === 0 ? "accepted" : `refused at ${uncovered.map((i) => `data.matchImages[${String(i)}]`).join(", ")}`}`, () => {
      const r = renderCredentialProviderConfig(
        settings({ matchImages, credentialProviderConfigTemplate: hardCoded(registered) }),
        node,
        undefined,
      );
      if (uncovered.length === 0) {
        assert.ok(r.ok, JSON.stringify(r.ok ? null : r.problems));
        return;
      }
      if (r.ok) assert.fail("a template registering less than matchImages was accepted");
      assert.deepEqual(
        r.problems.map((p) => p.path),
        uncovered.map((i) => `data.matchImages[${String(i)}]`),
      );
      for (const p of r.problems) {
        assert.match(p.message, /is not covered by the rendered provider's matchImages/);
      }
    });
  }
});

describe("an unknown name in a template is an error wherever it stands", () => {
  const table: [name: string, use: string][] = [
    ["on its own", "{{nope}}"],
    ["as a helper's argument", "{{json nope}}"],
    ["inside a subexpression", '{{json (concat "--a=" nope)}}'],
    ["as a block's argument", "{{#if nope}}x{{/if}}"],
  ];
  for (const [name, use] of table) {
    it(name, () => {
      const r = renderCredentialProviderConfig(
        settings({
          matchImages,
          credentialProviderConfigTemplate: `${hardCoded(["*.*.*"])}# ${use}\n`,
        }),
        node,
        undefined,
      );
      if (r.ok) assert.fail(`${use} rendered`);
      const p = r.problems[0];
      assert.ok(p);
      assert.equal(p.path, "data.credentialProviderConfigTemplate");
      assert.match(p.message, /"nope" not defined/);
    });
  }
  it("bad beside good: the known names render", () => {
    const known =
      "{{json providerName}} {{json matching}} {{json binDir}} {{json flavour}} {{json policyFile}}";
    const r = renderCredentialProviderConfig(
      settings({
        matchImages: "a.example.test",
        credentialProviderConfigTemplate: `${hardCoded(["*.*.*"])}# ${known}\n`,
      }),
      node,
      undefined,
    );
    assert.ok(r.ok, JSON.stringify(r.ok ? null : r.problems));
  });
});

describe("a nodecred 0.1 template", () => {
  const old = `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: {{json providerName}}
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    matchImages: {{json matchImages}}
    defaultCacheDuration: {{json defaultCacheDuration}}
    args: [{{json (concat "--credentials=" credentialsFile)}}]
`;
  it("naming credentialsFile is refused with a hint to policyFile", () => {
    const r = renderCredentialProviderConfig(
      settings({ matchImages, credentialProviderConfigTemplate: old }),
      node,
      undefined,
    );
    if (r.ok) assert.fail("accepted");
    assert.equal(r.problems.length, 1);
    const p = r.problems[0];
    assert.ok(p);
    assert.equal(p.path, "data.credentialProviderConfigTemplate");
    assert.match(p.message, /"credentialsFile" not defined/);
    assert.match(p.message, /credentialsFile is gone: .*--policy= plus policyFile/);
  });
  it("another unknown name: no such hint", () => {
    const r = renderCredentialProviderConfig(
      settings({
        matchImages,
        credentialProviderConfigTemplate: old.replace("credentialsFile", "credsFile"),
      }),
      node,
      undefined,
    );
    if (r.ok) assert.fail("accepted");
    assert.match(r.problems[0]?.message ?? "", /"credsFile" not defined/);
    assert.doesNotMatch(r.problems[0]?.message ?? "", /policyFile/);
  });
  it("fixed as the hint says: accepted", () => {
    const r = renderCredentialProviderConfig(
      settings({
        matchImages,
        credentialProviderConfigTemplate: old.replace(
          '"--credentials=" credentialsFile',
          '"--policy=" policyFile',
        ),
      }),
      node,
      undefined,
    );
    assert.ok(r.ok, JSON.stringify(r.ok ? null : r.problems));
  });
});
