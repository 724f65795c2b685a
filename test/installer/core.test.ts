import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSettings } from "../../installer/core/configmap.ts";
import { detectFlavour, restartUnit } from "../../installer/core/flavour.ts";
import { formatGoDuration, parseGoDuration } from "../../installer/core/go-duration.ts";
import { credentialsFileFromSecret } from "../../installer/core/secret.ts";
import { configHash } from "../../installer/core/desired-state.ts";

describe("Go durations (time.ParseDuration)", () => {
  const good: [string, bigint][] = [
    ["0", 0n],
    ["5m", 300_000_000_000n],
    ["1h30m", 5_400_000_000_000n],
    ["1.5s", 1_500_000_000n],
    ["-1m", -60_000_000_000n],
    ["+2ms", 2_000_000n],
    ["300us", 300_000n],
    ["300µs", 300_000n],
    [".5h", 1_800_000_000_000n],
  ];
  for (const [text, nanos] of good) {
    it(`parses ${text}`, () => {
      assert.deepEqual(parseGoDuration(text), { ok: true, nanos });
    });
  }
  for (const text of ["", "5", "m", "1d", "10 minutes", "-", ".s", "9223372036854775808ns"]) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.equal(parseGoDuration(text).ok, false);
    });
  }
  it("formats like Duration.String", () => {
    assert.equal(formatGoDuration(-60_000_000_000n), "-1m0s");
    assert.equal(formatGoDuration(5_400_000_000_000n), "1h30m0s");
    assert.equal(formatGoDuration(1_500_000n), "1.5ms");
    assert.equal(formatGoDuration(0n), "0s");
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
      defaultCacheDuration: "5m",
      template: null,
    });
  });
  it("reports every problem with its path", () => {
    const r = parseSettings({
      matchImages: "%bad%",
      defaultCacheDuration: "-1s",
      providerName: "a/b",
      typo: "x",
    });
    if (r.ok) assert.fail("accepted");
    assert.deepEqual(r.problems.map((p) => p.path).sort(), [
      "data.defaultCacheDuration",
      "data.matchImages[0]",
      "data.providerName",
      "data.typo",
    ]);
  });
  it("configHash changes with the content and only with it", () => {
    const a = parseSettings({ matchImages: "a.test" });
    const b = parseSettings({ matchImages: "b.test" });
    assert.ok(a.ok && b.ok);
    assert.equal(configHash(a.value), configHash({ ...a.value }));
    assert.notEqual(configHash(a.value), configHash(b.value));
  });
});

describe("Secret → credentials file", () => {
  const docker =
    '{"auths":{"reg.test":{"auth":"' + Buffer.from("u:FAKE-pass").toString("base64") + '"}}}';
  const secret = (over: Record<string, unknown>): Record<string, unknown> => ({
    kind: "Secret",
    type: "kubernetes.io/dockerconfigjson",
    data: { ".dockerconfigjson": Buffer.from(docker).toString("base64") },
    ...over,
  });
  it("canonical bytes: sorted keys, username/password resolved, trailing newline", () => {
    const r = credentialsFileFromSecret(secret({}));
    assert.ok(r.ok);
    assert.equal(
      new TextDecoder().decode(r.value),
      '{"auths":{"reg.test":{"password":"FAKE-pass","username":"u"}}}\n',
    );
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
      const r = credentialsFileFromSecret(secret(over));
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
