// charts/nodecred against a real kube-apiserver: every rendered object passes a server-side dry run
// (default values, every value set), and `helm install`, `helm upgrade` and `helm uninstall` do
// what charts/nodecred/README.md says — in particular an upgrade that changes only the ConfigMap
// leaves the DaemonSet alone (same generation: no pod restarts) and keeps the pod-template
// annotation nodecred itself sets.
//
// This file starts its own etcd + kube-apiserver: the chart's ClusterRoles have fixed names
// (nodecred-token-audience, nodecred-view; one nodecred per cluster), which other test files apply
// from manifests/ on the shared apiserver at any time — Helm would refuse to adopt them, and an
// uninstall would delete them under those tests. No controller-manager runs here: the DaemonSet
// makes no pods (nothing under test needs them), and a deleted Namespace stays Terminating.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { kubeApi, loadKubeConfig } from "../../installer/cluster/kube-api.ts";
import { testEnv } from "../env/index.ts";
import { startKube, type KubeInstance } from "../env/kube.ts";
import { kubectl, repoRoot, scratchDir } from "../sync/cluster.ts";
import { allValues, chartDir, helm, helmOk, renderChart, writeValues } from "./helm-cli.ts";
import { keyOf, withForeignSelector, type Obj } from "./objects.ts";

/** An object as the API server returns it (only the fields the tests read). */
interface Live {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    generation?: number;
    resourceVersion?: string;
    deletionTimestamp?: string;
  };
  data?: Record<string, string>;
  spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
}

/** The annotation the sync container patches onto the DaemonSet's pod template. */
const hashAnnotation = "nodecred.io/kubelet-config-hash";

describe(
  "charts/nodecred on a kube-apiserver of its own (helm install/upgrade/uninstall)",
  {
    timeout: 300_000,
  },
  () => {
    const env = testEnv();
    const dir = scratchDir("helm-install");
    let kube: KubeInstance;
    const k = (args: readonly string[], input?: string): Promise<string> =>
      kubectl(args, kube.kubeconfig, input);
    const getJson = async (args: readonly string[]): Promise<Live> =>
      JSON.parse(await k(["get", ...args, "-o", "json"])) as Live;
    /** Whether an object exists (kubectl get --ignore-not-found prints nothing when it does not). */
    const exists = async (args: readonly string[]): Promise<boolean> =>
      (await k(["get", ...args, "--ignore-not-found", "-o", "name"])).trim() !== "";
    const asList = (objs: readonly Obj[]): string =>
      JSON.stringify({ apiVersion: "v1", kind: "List", items: objs });

    /** Applies the render's Namespace for real (a dry run creates none), then dry-runs all of it. */
    const dryRun = async (objs: readonly Obj[]): Promise<string> => {
      const namespaces = objs.filter((o) => o.kind === "Namespace");
      await k(["apply", "-f", "-"], asList(namespaces));
      return k(["apply", "--dry-run=server", "-f", "-"], asList(objs));
    };
    const expectDryRunOf = (out: string, objs: readonly Obj[]): void => {
      for (const o of objs) {
        const kind = o.kind.toLowerCase();
        const group = o.apiVersion.includes("/") ? `.${o.apiVersion.split("/")[0] ?? ""}` : "";
        const shown = `${kind}${group === ".apps" ? ".apps" : group}/${o.metadata.name}`;
        assert.ok(out.includes(shown), `${shown} in ${out}`);
      }
      assert.equal(out.match(/\(server dry run\)/g)?.length, objs.length, out);
    };

    before(async () => {
      kube = await startKube(dir, env.bins);
    });

    after(async () => {
      await kube.stopApiserver();
      await kube.etcd.stop();
    });

    it("default values: every object passes a server-side dry run; a broken one does not", async () => {
      const objs = await renderChart();
      assert.equal(objs.length, 11);
      expectDryRunOf(await dryRun(objs), objs);
      await assert.rejects(
        k(["apply", "--dry-run=server", "-f", "-"], withForeignSelector(objs)),
        /`selector` does not match template `labels`/,
      );
    });

    it("every value set (scopes, extra host paths, nodeSelector, affinity, tolerations): a server-side dry run", async () => {
      const objs = await renderChart(["-f", writeValues(scratchDir("helm-all"), allValues)]);
      assert.equal(objs.length, 9); // no nodecred-token-audience ClusterRole and binding
      expectDryRunOf(await dryRun(objs), objs);
      // The server checks what the values produce: a toleration the schema lets through but the
      // API refuses (Exists with a value) fails the dry run.
      const bad = await renderChart([
        "-f",
        writeValues(scratchDir("helm-bad"), {
          ...allValues,
          tolerations: [{ key: "a", operator: "Exists", value: "b" }],
        }),
      ]);
      await assert.rejects(dryRun(bad), /value must be empty when `operator` is 'Exists'/);
    });

    const ns = "helm-nodecred";
    const kc = (): string[] => ["--kubeconfig", kube.kubeconfig];
    /**
     * `helm VERB` of release `name` (its record in `recordIn`) with namespace.name=`namespace`
     * and these other --set values.
     */
    const ofRelease = (
      verb: "install" | "upgrade",
      namespace: string,
      values: readonly string[] = [],
      { name = "nodecred", recordIn = "kube-system" } = {},
    ): string[] => [
      verb,
      name,
      chartDir,
      "--namespace",
      recordIn,
      ...kc(),
      ...[`namespace.name=${namespace}`, ...values].flatMap((v) => ["--set", v]),
    ];
    /** What the chart installs besides the Namespace, as `kubectl get` arguments. */
    const chartObjects = [
      ["-n", ns, "serviceaccount", "nodecred"],
      ["-n", ns, "role", "nodecred"],
      ["-n", ns, "rolebinding", "nodecred"],
      ["-n", "default", "role", "nodecred-node-events"],
      ["-n", "default", "rolebinding", "nodecred-node-events"],
      ["clusterrole", "nodecred-token-audience"],
      ["clusterrolebinding", "nodecred-token-audience"],
      ["clusterrole", "nodecred-view"],
      ["-n", ns, "configmap", "nodecred-config"],
      ["-n", ns, "daemonset", "nodecred"],
    ];

    it("helm install: the objects, in namespace.name; Helm's record where -n says", async () => {
      assert.equal(await exists(["namespace", ns]), false);
      await helmOk(ofRelease("install", ns));
      const namespace = await getJson(["namespace", ns]);
      const labels = namespace.metadata.labels ?? {};
      assert.equal(labels["pod-security.kubernetes.io/enforce"], "privileged");
      assert.equal(labels["app.kubernetes.io/managed-by"], "Helm");
      for (const args of chartObjects) {
        assert.equal(await exists(args), true, args.join(" "));
      }
      // The release record (a Secret sh.helm.release.v1.NAME.vN) lives in kube-system, not in ns.
      assert.equal(
        await exists(["-n", "kube-system", "secret", "sh.helm.release.v1.nodecred.v1"]),
        true,
      );
      assert.equal(await k(["-n", ns, "get", "secrets", "-o", "name"]), "");
      const list = JSON.parse(
        await helmOk(["list", "-n", "kube-system", "-o", "json", ...kc()]),
      ) as {
        name: string;
        status: string;
        chart: string;
        app_version: string;
      }[];
      assert.deepEqual(
        list.map((r) => [r.name, r.status, r.chart, r.app_version]),
        [["nodecred", "deployed", "nodecred-0.1.0", "0.1.0"]],
      );
    });

    it("helm upgrade refuses a typo'd value and changes nothing", async () => {
      const before = await getJson(["-n", ns, "configmap", "nodecred-config"]);
      const r = await helm(ofRelease("upgrade", ns, ["config.matchImage={x.example.com}"]));
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /additional properties 'matchImage' not allowed/);
      const afterTypo = await getJson(["-n", ns, "configmap", "nodecred-config"]);
      assert.equal(afterTypo.metadata.name, before.metadata.name);
      assert.deepEqual(afterTypo.data, before.data);
      assert.equal(afterTypo.metadata.resourceVersion, before.metadata.resourceVersion);
    });

    it("helm upgrade of matchImages: new ConfigMap, same DaemonSet generation, nodecred's annotation kept", async () => {
      const ref = { namespace: ns, name: "nodecred" };
      // What the sync container does when a ConfigMap change needs a kubelet restart (nodecred's
      // own client call: a merge patch of the pod template's annotation).
      await kubeApi(loadKubeConfig(kube.kubeconfig)).annotatePodTemplate(
        ref,
        hashAnnotation,
        "0123456789abcdef",
      );
      const patched = await getJson(["-n", ns, "daemonset", "nodecred"]);
      const generation = patched.metadata.generation;
      assert.equal(generation, 2);

      const matchImages = "config.matchImages={ghcr.io/acme,*.registry.acme.example}";
      await helmOk(ofRelease("upgrade", ns, [matchImages]));
      const cm = await getJson(["-n", ns, "configmap", "nodecred-config"]);
      assert.deepEqual(cm.data, {
        matchImages: "ghcr.io/acme\n*.registry.acme.example\n",
        matching: "live",
        defaultCacheDuration: "0s",
      });
      const ds = await getJson(["-n", ns, "daemonset", "nodecred"]);
      assert.equal(ds.metadata.generation, generation);
      const template = ds.spec?.template;
      assert.deepEqual(template?.metadata?.annotations, { [hashAnnotation]: "0123456789abcdef" });

      // The generation moves when the chart does change the DaemonSet (so "unchanged" above is a
      // real observation), and the annotation survives that upgrade too.
      await helmOk(ofRelease("upgrade", ns, [matchImages, "updateStrategy.maxUnavailable=2"]));
      const moved = await getJson(["-n", ns, "daemonset", "nodecred"]);
      assert.equal(moved.metadata.generation, generation + 1);
      assert.equal(
        moved.spec?.template?.metadata?.annotations?.[hashAnnotation],
        "0123456789abcdef",
      );
      // The manifests read the same annotation (downward API): the name above is nodecred's.
      assert.match(
        readFileSync(join(repoRoot, "manifests/daemonset.yaml"), "utf8"),
        /fieldPath: metadata\.annotations\['nodecred\.io\/kubelet-config-hash'\]/,
      );
    });

    it("helm uninstall removes every object it installed, and its record", async () => {
      const installed = (await renderChart(["--set", `namespace.name=${ns}`])).map(keyOf);
      assert.equal(installed.length, chartObjects.length + 1); // and the Namespace
      await helmOk(["uninstall", "nodecred", "--namespace", "kube-system", ...kc()]);
      for (const args of chartObjects) {
        assert.equal(await exists(args), false, args.join(" "));
      }
      // The Namespace is deleted (no namespace controller runs here to finish it: Terminating).
      const gone = await k(["get", "namespace", ns, "--ignore-not-found", "-o", "json"]);
      if (gone.trim() !== "") {
        const namespace = JSON.parse(gone) as { metadata: { deletionTimestamp?: string } };
        assert.ok(namespace.metadata.deletionTimestamp, "namespace not being deleted");
      }
      assert.equal(
        await exists(["-n", "kube-system", "secret", "sh.helm.release.v1.nodecred.v1"]),
        false,
      );
      assert.equal(await helmOk(["list", "-n", "kube-system", "-q", ...kc()]), "");
    });

    it("uninstalls in the documented order: DaemonSet deleted first (manifests-uninstall runs), then helm uninstall", async () => {
      const other = "helm-nodecred-2";
      await helmOk(ofRelease("install", other));
      await k(["-n", other, "delete", "daemonset", "nodecred"]);
      const r = await helm(["uninstall", "nodecred", "--namespace", "kube-system", ...kc()]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await exists(["-n", other, "configmap", "nodecred-config"]), false);
      assert.equal(await exists(["clusterrole", "nodecred-view"]), false);
      assert.equal(await helmOk(["list", "-n", "kube-system", "-q", ...kc()]), "");
    });

    it("namespace.create=false: into a namespace made beforehand, Helm's record there too", async () => {
      const own = "helm-own-ns";
      // -n naming the namespace the chart is to create fails before anything is made: Helm keeps
      // its record there first.
      const early = await helm(ofRelease("install", own, [], { recordIn: own }));
      assert.notEqual(early.code, 0);
      assert.match(early.stderr, new RegExp(`namespaces "${own}" not found`));
      assert.equal(await exists(["clusterrole", "nodecred-view"]), false);
      // As charts/nodecred/README.md says: the namespace with its Pod Security label, then the chart.
      await k(["create", "namespace", own]);
      await k(["label", "namespace", own, "pod-security.kubernetes.io/enforce=privileged"]);
      await helmOk(ofRelease("install", own, ["namespace.create=false"], { recordIn: own }));
      assert.equal(await exists(["-n", own, "daemonset", "nodecred"]), true);
      assert.equal(await exists(["-n", own, "secret", "sh.helm.release.v1.nodecred.v1"]), true);
      await helmOk(["uninstall", "nodecred", "--namespace", own, ...kc()]);
      // The namespace was not the chart's: it stays.
      const left = await getJson(["namespace", own]);
      assert.equal(left.metadata.deletionTimestamp, undefined);
      assert.equal(await exists(["-n", own, "daemonset", "nodecred"]), false);
    });

    it("a second release is refused: the cluster-scoped objects belong to the first", async () => {
      await helmOk(ofRelease("install", "first"));
      const second = await helm(ofRelease("install", "second", [], { name: "nodecred-again" }));
      assert.notEqual(second.code, 0);
      assert.match(second.stderr, /exists and cannot be imported into the current release/);
      assert.equal(await exists(["namespace", "second"]), false);
      await helmOk(["uninstall", "nodecred", "--namespace", "kube-system", ...kc()]);
    });
  },
);
