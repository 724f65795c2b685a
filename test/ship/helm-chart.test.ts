// charts/nodecred rendered by the pinned Helm (no cluster): with the default values it is the same
// install as manifests/ (every object of `kubectl kustomize manifests/`, value for value; Helm's
// standard labels the only addition), the values schema refuses typos and bad values with the key
// in the message, and every value reaches the field it names. The install, upgrade and uninstall
// against a real kube-apiserver: helm-install.test.ts.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { isDeepStrictEqual } from "node:util";
import { parse } from "yaml";
import { parseSettings } from "../../installer/core/settings/configmap.ts";
import { repoRoot, scratchDir } from "../sync/cluster.ts";
import { chartDir, helm, helmOk, renderChart, allValues, writeValues } from "./helm-cli.ts";
import { find, keyOf, kustomizedManifests, parseObjects, type Obj } from "./objects.ts";

/** The labels Helm charts conventionally add; the only difference allowed from manifests/. */
const helmLabels = {
  "app.kubernetes.io/instance": "nodecred",
  "app.kubernetes.io/managed-by": "Helm",
  "app.kubernetes.io/version": "0.1.0",
  "helm.sh/chart": "nodecred-0.1.0",
} as const;

/** What differs between the kustomize render and the chart's, by object ("" when nothing). */
function differences(kustomized: readonly Obj[], charted: readonly Obj[]): string[] {
  const byKey = new Map(charted.map((o) => [keyOf(o), o]));
  const out: string[] = [];
  for (const want of kustomized) {
    const got = byKey.get(keyOf(want));
    byKey.delete(keyOf(want));
    if (got === undefined) {
      out.push(`${keyOf(want)}: missing`);
      continue;
    }
    const all = got.metadata.labels ?? {};
    for (const [k, v] of Object.entries(helmLabels)) {
      if (all[k] !== v) out.push(`${keyOf(want)}: label ${k} is ${String(all[k])}`);
    }
    const labels = Object.fromEntries(Object.entries(all).filter(([k]) => !(k in helmLabels)));
    const stripped = { ...got, metadata: { ...got.metadata, labels } };
    if (!isDeepStrictEqual(stripped, want)) out.push(`${keyOf(want)}: differs`);
  }
  for (const extra of byKey.keys()) out.push(`${extra}: not in manifests/`);
  return out;
}

function daemonSetOf(objs: readonly Obj[]): {
  spec: {
    updateStrategy: { rollingUpdate: { maxUnavailable: unknown } };
    template: {
      metadata: { labels: Record<string, string>; annotations?: unknown };
      spec: Record<string, unknown> & {
        initContainers: Container[];
        containers: Container[];
        volumes: { name: string; hostPath?: { path: string }; secret?: { secretName: string } }[];
      };
    };
  };
} {
  return find(objs, "DaemonSet", "nodecred") as unknown as ReturnType<typeof daemonSetOf>;
}

interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  command: string[];
  resources: unknown;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}

describe("charts/nodecred (helm template, no cluster)", { timeout: 120_000 }, () => {
  const version = (
    JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
      version: string;
    }
  ).version;
  let kustomized: Obj[];
  let defaults: Obj[];
  let all: Obj[];
  let allFile: string;

  before(async () => {
    kustomized = await kustomizedManifests();
    defaults = await renderChart();
    allFile = writeValues(scratchDir("helm-chart"), allValues);
    all = await renderChart(["-f", allFile]);
  });

  it("runs the Helm release scripts/helm pins, built with its version", async () => {
    const pinned = /helm\.sh\/helm\/v3 (v3\.\d+\.\d+)/.exec(
      readFileSync(join(repoRoot, "scripts/helm/go.mod"), "utf8"),
    )?.[1];
    assert.equal(pinned, "v3.22.0");
    const shown = await helmOk(["version", "--template", "{{.Version}}"]);
    assert.equal(shown, pinned);
    // A build without the -X flag says only the minor ("v3.22"): build-helm.sh sets it.
    assert.notEqual(shown, "v3.22");
  });

  it("has version and appVersion of package.json, and runs the image manifests/ runs", async () => {
    const chart = parse(readFileSync(join(chartDir, "Chart.yaml"), "utf8")) as {
      version: string;
      appVersion: string;
    };
    assert.equal(chart.version, version);
    assert.equal(chart.appVersion, version);
    const image = `nodecred/nodecred:${version}`;
    const manifestImages = daemonSetOf(kustomized)
      .spec.template.spec.initContainers.concat(
        daemonSetOf(kustomized).spec.template.spec.containers,
      )
      .map((c) => c.image);
    assert.deepEqual(manifestImages, [image, image]);
    const ds = daemonSetOf(defaults).spec.template.spec;
    assert.deepEqual(
      [...ds.initContainers, ...ds.containers].map((c) => c.image),
      [image, image],
    );
    // The tag comes from the values when set: the comparison above is not vacuous.
    const tagged = daemonSetOf(await renderChart(["--set", "image.tag=9.9.9"])).spec.template.spec;
    assert.deepEqual(
      [...tagged.initContainers, ...tagged.containers].map((c) => c.image),
      ["nodecred/nodecred:9.9.9", "nodecred/nodecred:9.9.9"],
    );
  });

  it("renders, with the default values, every object of kubectl kustomize manifests/ (plus Helm's labels)", async () => {
    assert.equal(kustomized.length, 11);
    assert.deepEqual(differences(kustomized, defaults), []);
    // The comparison sees a changed value, a missing object and an extra one.
    assert.deepEqual(
      differences(kustomized, await renderChart(["--set", "updateStrategy.maxUnavailable=2"])),
      ["DaemonSet/nodecred/nodecred: differs"],
    );
    assert.deepEqual(
      differences(kustomized, await renderChart(["--set", "rbac.tokenAudience=false"])),
      [
        "ClusterRole//nodecred-token-audience: missing",
        "ClusterRoleBinding//nodecred-token-audience: missing",
      ],
    );
    const extra: Obj = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "x", namespace: "n" },
    };
    assert.deepEqual(differences(kustomized, [...defaults, extra]), [
      "Secret/n/x: not in manifests/",
    ]);
  });

  it("passes helm lint --strict with the default values and with every value set", async () => {
    for (const args of [[], ["-f", allFile]]) {
      const r = await helm(["lint", "--strict", chartDir, ...args]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
    const typo = await helm(["lint", "--strict", chartDir, "--set", "config.matchImage=a"]);
    assert.notEqual(typo.code, 0);
    assert.match(typo.stdout + typo.stderr, /additional properties 'matchImage' not allowed/);
  });

  it("refuses a typo or a bad value, naming the key (helm template exits non-zero)", async () => {
    const cases: [string, string[], RegExp][] = [
      ["top-level typo", ["namespce.name=x"], /additional properties 'namespce' not allowed/],
      ["nested typo", ["config.matchImage=a"], /at '\/config': additional properties 'matchImage'/],
      [
        "matching",
        ["config.matching=Live"],
        /at '\/config\/matching': value must be one of 'live', 'kubelet'/,
      ],
      ["duration", ["config.defaultCacheDuration=10"], /at '\/config\/defaultCacheDuration'/],
      ["no patterns", ["config.matchImages=null"], /missing propert.*matchImages/],
      ["pattern with a space", ["config.matchImages[0]=a b"], /at '\/config\/matchImages\/0'/],
      ["relative host path", ["extraHostPaths={home/kubernetes/bin}"], /at '\/extraHostPaths\/0'/],
      ["host path with ..", ["extraHostPaths={/home/../etc}"], /at '\/extraHostPaths\/0'/],
      ["host root", ["extraHostPaths={/}"], /at '\/extraHostPaths\/0'/],
      [
        "mounted already",
        ["extraHostPaths={/etc/kubernetes}"],
        /extraHostPaths: \/etc\/kubernetes is under \/etc, \/var\/lib or \/usr\/lib, which are mounted already/,
      ],
      ["Secret name", ["credentials.secretName=Bad_Name"], /at '\/credentials\/secretName'/],
      ["namespace name", ["namespace.name=NodeCred"], /at '\/namespace\/name'/],
      [
        "maxUnavailable 0",
        ["updateStrategy.maxUnavailable=0"],
        /at '\/updateStrategy\/maxUnavailable'/,
      ],
      [
        "secret on the default set",
        ["config.credentialSets.default.secret=x"],
        /at '\/config\/credentialSets\/default': additional properties 'secret'/,
      ],
      [
        "set without secret",
        ["config.credentialSets.team-a.namespaces={team-a}"],
        /at '\/config\/credentialSets\/team-a': missing property 'secret'/,
      ],
      // Helm's schema library reports this one at a random location, but names the value.
      [
        "set name",
        ["config.credentialSets.Team_A.secret=x", "config.credentialSets.Team_A.namespaces={a}"],
        /invalid propertyName 'Team_A'/,
      ],
      [
        "toleration typo",
        ["tolerations[0].operatr=Exists"],
        /at '\/tolerations\/0': additional properties 'operatr'/,
      ],
    ];
    for (const [name, sets, message] of cases) {
      const r = await helm([
        "template",
        "nodecred",
        chartDir,
        ...sets.flatMap((s) => ["--set", s]),
      ]);
      assert.notEqual(r.code, 0, name);
      assert.match(r.stderr, message, name);
      assert.equal(r.stdout, "", name);
    }
    // The same keys with good values are accepted.
    for (const sets of [
      ["config.matching=kubelet", "config.defaultCacheDuration=1h2m3.5s"],
      ["extraHostPaths={/home/kubernetes/bin,/usr/lib64/x}", "credentials.secretName=a.b-c"],
      ["updateStrategy.maxUnavailable=25%", "config.credentialSets.default=null"],
    ]) {
      const r = await helm([
        "template",
        "nodecred",
        chartDir,
        ...sets.flatMap((s) => ["--set", s]),
      ]);
      assert.equal(r.code, 0, `${sets.join(" ")}: ${r.stderr}`);
    }
  });

  it("puts every value where it belongs", () => {
    const ds = daemonSetOf(all);
    const pod = ds.spec.template.spec;
    const [apply] = pod.initContainers;
    const [sync] = pod.containers;
    assert.ok(apply && sync);
    for (const c of [apply, sync]) {
      assert.equal(c.image, "registry.example.com/ops/nodecred:0.1.0-rc1");
      assert.equal(c.imagePullPolicy, "Always");
    }
    assert.deepEqual(apply.resources, allValues.resources.apply);
    assert.deepEqual(sync.resources, allValues.resources.sync);
    assert.equal(ds.spec.updateStrategy.rollingUpdate.maxUnavailable, "10%");
    assert.deepEqual(pod["nodeSelector"], allValues.nodeSelector);
    assert.deepEqual(pod["tolerations"], allValues.tolerations);
    assert.deepEqual(pod["affinity"], allValues.affinity);
    assert.equal(pod["priorityClassName"], undefined);
    // Each extra host path at the same path under /host, read-write, in apply only.
    const extra = pod.volumes.filter((v) => v.name.startsWith("host-extra-"));
    assert.deepEqual(
      extra.map((v) => [v.name, v.hostPath?.path]),
      [
        ["host-extra-0", "/home/kubernetes/bin"],
        ["host-extra-1", "/opt/credential-provider"],
      ],
    );
    assert.deepEqual(
      apply.volumeMounts.filter((m) => m.name.startsWith("host-extra-")),
      [
        { name: "host-extra-0", mountPath: "/host/home/kubernetes/bin" },
        { name: "host-extra-1", mountPath: "/host/opt/credential-provider" },
      ],
    );
    assert.ok(!sync.volumeMounts.some((m) => m.name.startsWith("host-extra-")));
    // The Secret: mounted for apply and watched by run, both by the same name.
    assert.equal(pod.volumes.find((v) => v.name === "secret")?.secret?.secretName, "acme-registry");
    assert.ok(sync.command.includes("--secret=acme-registry"));
    assert.ok(!apply.command.some((a) => a.startsWith("--secret=")));
    // With the default name, run's default (as in manifests/): no flag.
    const defaultSync = daemonSetOf(defaults).spec.template.spec.containers[0];
    assert.ok(defaultSync && !defaultSync.command.some((a) => a.startsWith("--secret")));
    // RBAC switches.
    assert.ok(!all.some((o) => o.metadata.name === "nodecred-token-audience"));
    const view = find(all, "ClusterRole", "nodecred-view");
    assert.equal(view.metadata.labels?.["rbac.authorization.k8s.io/aggregate-to-view"], undefined);
    assert.equal(
      find(defaults, "ClusterRole", "nodecred-view").metadata.labels?.[
        "rbac.authorization.k8s.io/aggregate-to-view"
      ],
      "true",
    );
  });

  it("renders a ConfigMap nodecred's own parser accepts, with the values given", async () => {
    const data = find(all, "ConfigMap", "nodecred-config")["data"] as Record<string, string>;
    assert.equal(data["matchImages"], "a.example.com\n*.b.example.com:5000/team\n");
    const parsed = parseSettings(data);
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.deepEqual(parsed.value.matchImages, allValues.config.matchImages);
    assert.equal(parsed.value.matching, "kubelet");
    assert.equal(parsed.value.defaultCacheDuration, "1m30s");
    assert.equal(parsed.value.providerName, "acme-nodecred");
    assert.equal(parsed.value.template, allValues.config.credentialProviderConfigTemplate);
    assert.deepEqual(
      parsed.value.credentialSets?.map((s) => [s.name, s.secret, s.namespaces, s.onlyWhenSelected]),
      [
        ["default", null, ["kube-*"], false],
        ["team-a", "team-a-registry", ["team-a", "team-a-*"], false],
        ["team-a-ci", "team-a-ci-registry", ["team-a"], true],
      ],
    );
    // `{}`: scoped, the default set alone (not the same as leaving the key out, the default).
    const only = find(
      await renderChart(["--set-json", "config.credentialSets={}"]),
      "ConfigMap",
      "nodecred-config",
    )["data"] as Record<string, string>;
    assert.equal(only["credentialSets"], "{}\n");
    const onlyParsed = parseSettings(only);
    assert.ok(onlyParsed.ok, JSON.stringify(onlyParsed));
    assert.deepEqual(
      onlyParsed.value.credentialSets?.map((s) => s.name),
      ["default"],
    );
    const unscoped = find(defaults, "ConfigMap", "nodecred-config")["data"] as object;
    assert.ok(!("credentialSets" in unscoped));
    // The parser is strict: the chart's output is checked by something that can refuse.
    assert.equal(parseSettings({ ...data, matchImage: "x" }).ok, false);
  });

  it("never puts an annotation on the pod template (nodecred owns nodecred.io/kubelet-config-hash)", () => {
    for (const objs of [defaults, all]) {
      assert.equal(daemonSetOf(objs).spec.template.metadata.annotations, undefined);
      assert.deepEqual(daemonSetOf(objs).spec.template.metadata.labels, {
        "app.kubernetes.io/name": "nodecred",
      });
    }
    const templates = readFileSync(join(chartDir, "templates", "daemonset.yaml"), "utf8");
    assert.doesNotMatch(templates.replace(/^\s*#.*$/gm, ""), /checksum|annotations:/);
  });

  it("documents every value in charts/nodecred/README.md's table", () => {
    interface Schema {
      properties?: Record<string, Schema>;
    }
    const schema = JSON.parse(readFileSync(join(chartDir, "values.schema.json"), "utf8")) as Schema;
    // Keys two levels deep (config.matching, resources.apply); affinity is one pod-spec field.
    const keys = (s: Schema, prefix: string, depth: number): string[] =>
      Object.entries(s.properties ?? {}).flatMap(([k, v]) =>
        depth < 2 && v.properties !== undefined && k !== "affinity"
          ? keys(v, `${prefix}${k}.`, depth + 1)
          : [`${prefix}${k}`],
      );
    const documented = (readme: string): Set<string> =>
      new Set(
        readme
          .split("\n")
          .filter((l) => l.startsWith("| `"))
          .flatMap((l) =>
            [...(l.split("|")[1] ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? ""),
          ),
      );
    const readme = readFileSync(join(chartDir, "README.md"), "utf8");
    const all = keys(schema, "", 1);
    assert.ok(all.includes("config.credentialSets") && all.includes("resources.sync"));
    assert.deepEqual(
      all.filter((k) => !documented(readme).has(k)),
      [],
    );
    // A row taken out is noticed.
    const without = readme.replace(/^\| `rbac\.aggregateToView`.*$/m, "");
    assert.deepEqual(
      all.filter((k) => !documented(without).has(k)),
      ["rbac.aggregateToView"],
    );
  });

  it("puts the objects in namespace.name, whatever the release namespace; events Role in default", async () => {
    const inNamespace = (objs: readonly Obj[]): string[] =>
      objs
        .filter((o) => o.metadata.namespace !== undefined)
        .map(keyOf)
        .sort();
    const other = await renderChart(["--set", "namespace.name=ops-nodecred"]);
    assert.deepEqual(inNamespace(other), [
      "ConfigMap/ops-nodecred/nodecred-config",
      "DaemonSet/ops-nodecred/nodecred",
      "Role/default/nodecred-node-events",
      "Role/ops-nodecred/nodecred",
      "RoleBinding/default/nodecred-node-events",
      "RoleBinding/ops-nodecred/nodecred",
      "ServiceAccount/ops-nodecred/nodecred",
    ]);
    for (const name of ["nodecred", "nodecred-node-events"]) {
      const binding = other.find((o) => o.kind === "RoleBinding" && o.metadata.name === name);
      assert.deepEqual(binding?.["subjects"], [
        { kind: "ServiceAccount", name: "nodecred", namespace: "ops-nodecred" },
      ]);
    }
    const ns = find(other, "Namespace", "ops-nodecred");
    assert.equal(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"], "privileged");
    // -n only names where Helm keeps its record: the objects are the same.
    const elsewhere = parseObjects(
      await helmOk(["template", "nodecred", chartDir, "-n", "somewhere-else"]),
    );
    assert.deepEqual(elsewhere, defaults);
    // namespace.create=false: no Namespace, everything else as before.
    const noNs = await renderChart(["--set", "namespace.create=false"]);
    assert.deepEqual(
      noNs,
      defaults.filter((o) => o.kind !== "Namespace"),
    );
    assert.equal(defaults.filter((o) => o.kind === "Namespace").length, 1);
  });
});
