import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSettings } from "../../installer/core/settings/configmap.ts";
import { detectFlavour, restartUnit } from "../../installer/core/node/flavour.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs as parseProviderArgs } from "../../provider/core/cli.ts";
import { formatGoDuration } from "../../provider/core/duration.ts";
import { repoRoot } from "./golden.ts";
import { credentialsFromSecret } from "../../installer/core/settings/secret.ts";
import { kubeletConfigHash } from "../../installer/core/kubelet/kubelet-spec.ts";

// The parser itself is the provider's (provider/core/duration.ts), held to Go by the oracle test.
// What matters here: the installer passes defaultCacheDuration to the provider as --cache-duration,
// so the ConfigMap must accept exactly the durations the provider accepts.
describe("defaultCacheDuration: ConfigMap and provider agree", () => {
  const oracle = JSON.parse(
    readFileSync(join(repoRoot, "test/provider/oracle/cases.json"), "utf8"),
  ) as { durations: string[] };
  for (const text of oracle.durations) {
    it(JSON.stringify(text), () => {
      const settings = parseSettings({ matchImages: "reg.test", defaultCacheDuration: text });
      const provider = parseProviderArgs([
        "--policy",
        "/p.json",
        `--cache-duration=${text.trim()}`,
      ]);
      assert.equal(settings.ok, provider.ok);
    });
  }
  it("accepts the full int64 range, refuses negatives", () => {
    assert.ok(parseSettings({ matchImages: "r", defaultCacheDuration: "2562047h" }).ok);
    assert.ok(!parseSettings({ matchImages: "r", defaultCacheDuration: "2562048h" }).ok);
    assert.ok(!parseSettings({ matchImages: "r", defaultCacheDuration: "-1ns" }).ok);
  });
  it("formats like Duration.String, negative too (validation messages)", () => {
    assert.equal(formatGoDuration(-60_000_000_000n), "-1m0s");
    assert.equal(formatGoDuration(5_400_000_000_000n), "1h30m0s");
  });
});

describe("ConfigMap settings", () => {
  it("accepts the documented keys with defaults", () => {
    const r = parseSettings({
      matchImages: "# comment\nregistry.example.test\n\n  *.example.test  \n",
    });
    assert.ok(r.ok);
    assert.deepEqual(r.value, {
      providerName: "nodecred",
      matchImages: ["registry.example.test", "*.example.test"],
      matching: "live",
      defaultCacheDuration: "0s",
      template: null,
      credentialSets: null,
    });
  });
  it("reports every problem with its path", () => {
    const r = parseSettings({
      matchImages: "%bad%",
      defaultCacheDuration: "-1s",
      providerName: "a/b",
      matching: "both",
      typo: "x",
    });
    if (r.ok) assert.fail("accepted");
    assert.deepEqual(r.problems.map((p) => p.path).sort(), [
      "data.defaultCacheDuration",
      "data.matchImages[0]",
      "data.matching",
      "data.providerName",
      "data.typo",
    ]);
  });
  it("matching: live or kubelet, surrounding blanks trimmed", () => {
    for (const [text, want] of [
      ["live", "live"],
      [" kubelet\n", "kubelet"],
      ["Live", null],
      ["", null],
    ] as const) {
      const r = parseSettings({ matchImages: "r.test", matching: text });
      assert.equal(r.ok ? r.value.matching : null, want, JSON.stringify(text));
    }
  });
  it("kubeletConfigHash changes with what the kubelet reads and only with it", () => {
    // The full table of decisions is in kubelet-config.test.ts; here, one of each side.
    const settings = (data: Record<string, string>): Parameters<typeof kubeletConfigHash>[0] => {
      const r = parseSettings(data);
      assert.ok(r.ok);
      return r.value;
    };
    const a = settings({ matchImages: "a.test" });
    assert.equal(kubeletConfigHash(a), kubeletConfigHash({ ...a }));
    assert.equal(kubeletConfigHash(a), kubeletConfigHash(settings({ matchImages: "b.test" })));
    assert.notEqual(
      kubeletConfigHash(settings({ matchImages: "a.test", matching: "kubelet" })),
      kubeletConfigHash(settings({ matchImages: "b.test", matching: "kubelet" })),
    );
  });
});

describe("Secret → credentials", () => {
  const docker =
    '{"auths":{"reg.test":{"auth":"' + Buffer.from("u:FAKE-pass").toString("base64") + '"}}}';
  const secret = (over: Record<string, unknown>): Record<string, unknown> => ({
    kind: "Secret",
    type: "kubernetes.io/dockerconfigjson",
    data: { ".dockerconfigjson": Buffer.from(docker).toString("base64") },
    ...over,
  });
  it("the credentials in document order, auth resolved to username and password", () => {
    const r = credentialsFromSecret(secret({}));
    assert.ok(r.ok);
    assert.deepEqual(r.value, [{ key: "reg.test", username: "u", password: "FAKE-pass" }]);
  });
  const bad: [string, Record<string, unknown>, string][] = [
    ["wrong type", { type: "Opaque" }, "type"],
    ["bad base64", { data: { ".dockerconfigjson": "%%%" } }, "data..dockerconfigjson"],
    [
      "bad JSON",
      { data: { ".dockerconfigjson": Buffer.from("{").toString("base64") } },
      "data..dockerconfigjson",
    ],
    [
      "empty auths",
      { data: { ".dockerconfigjson": Buffer.from('{"auths":{}}').toString("base64") } },
      "data..dockerconfigjson",
    ],
    ["missing key", { data: {} }, "data..dockerconfigjson"],
  ];
  for (const [name, over, path] of bad) {
    it(`rejects ${name}`, () => {
      const r = credentialsFromSecret(secret(over));
      if (r.ok) assert.fail("accepted");
      {
        assert.ok(
          r.problems.some((p) => p.path === path),
          JSON.stringify(r.problems),
        );
        assert.ok(!JSON.stringify(r.problems).includes("FAKE-pass"));
      }
    });
  }
});

// `data` is decoded as the API server decodes a []byte field (Go's base64.StdEncoding): line breaks
// skipped, padding required, nothing else outside the alphabet.
describe("Secret data base64, as the API server reads it", () => {
  const json = '{"auths":{"reg.test":{"username":"u","password":"FAKE-pass"}}}';
  const b64 = Buffer.from(json).toString("base64");
  // "~~~" encodes as "fn5+": the alphabets differ here.
  const b64Plus = Buffer.from(json.replace("FAKE-pass", "FAKE~~~")).toString("base64");
  assert.match(b64Plus, /\+/);
  const withData = (encoded: string): Record<string, unknown> => ({
    kind: "Secret",
    type: "kubernetes.io/dockerconfigjson",
    data: { ".dockerconfigjson": encoded },
  });
  const cases: [string, string, boolean][] = [
    ["plain", b64, true],
    ["wrapped at 76 columns with CRLF", (b64.match(/.{1,76}/g) ?? []).join("\r\n"), true],
    ["padding removed", b64.replace(/=+$/, ""), false],
    ["a space inside", `${b64.slice(0, 8)} ${b64.slice(8)}`, false],
    ["standard alphabet with +", b64Plus, true],
    ["URL alphabet (- for +)", b64Plus.replaceAll("+", "-"), false],
    ["not UTF-8 inside", Buffer.from([0x7b, 0xff, 0x7d]).toString("base64"), false],
  ];
  for (const [name, encoded, ok] of cases) {
    it(`${ok ? "accepts" : "rejects"} ${name}`, () => {
      assert.equal(credentialsFromSecret(withData(encoded)).ok, ok);
    });
  }
});

describe("flavour detection", () => {
  const facts = (
    existing: string[],
    osRelease: Record<string, string> = {},
  ): Parameters<typeof detectFlavour>[0] => ({ osRelease, existing: new Set(existing) });
  const table: [string, Parameters<typeof detectFlavour>[0], string | null][] = [
    ["bottlerocket", facts([], { ID: "bottlerocket" }), "bottlerocket"],
    ["talos", facts([], { ID: "talos" }), "talos"],
    ["flatcar", facts(["/etc/default/kubelet"], { ID: "flatcar" }), "flatcar"],
    ["rhcos", facts([], { ID: "rhcos" }), "openshift"],
    ["openshift by MCO marker", facts(["/etc/machine-config-daemon"], { ID: "rhel" }), "openshift"],
    ["k3s", facts(["/etc/rancher/k3s"]), "k3s"],
    ["rke2", facts(["/etc/rancher/rke2", "/etc/default/kubelet"]), "rke2"],
    [
      "eks al2",
      facts(["/etc/eks/image-credential-provider/config.json", "/etc/eks/bootstrap.sh"]),
      "eks-al2",
    ],
    [
      "eks al2023",
      facts(["/etc/eks/image-credential-provider/config.json", "/usr/bin/nodeadm"]),
      "eks-al2023",
    ],
    [
      "aks before its /etc/default/kubelet",
      facts(["/var/lib/kubelet/credential-provider-config.yaml", "/etc/default/kubelet"]),
      "aks",
    ],
    ["gke", facts(["/etc/srv/kubernetes/cri_auth_config.yaml"]), "gke"],
    ["rpm by file", facts(["/etc/sysconfig/kubelet"]), "kubeadm-rpm"],
    ["deb by file", facts(["/etc/default/kubelet"]), "kubeadm-deb"],
    ["deb by os-release", facts([], { ID: "ubuntu" }), "kubeadm-deb"],
    ["rpm by ID_LIKE", facts([], { ID: "rocky", ID_LIKE: "rhel centos fedora" }), "kubeadm-rpm"],
    ["unknown", facts([]), null],
  ];
  for (const [name, f, want] of table) {
    it(name, () => {
      assert.equal(detectFlavour(f), want);
    });
  }
  it("k3s/RKE2 unit: enabled unit first", () => {
    assert.equal(restartUnit("k3s", facts(["/etc/systemd/system/k3s-agent.service"])), "k3s-agent");
    assert.equal(
      restartUnit(
        "rke2",
        facts([
          "/usr/lib/systemd/system/rke2-server.service",
          "/usr/lib/systemd/system/rke2-agent.service",
          "/etc/systemd/system/multi-user.target.wants/rke2-agent.service",
        ]),
      ),
      "rke2-agent",
    );
    assert.equal(restartUnit("kubeadm-deb", facts([])), "kubelet");
  });
});
