// Credential sets (ConfigMap credentialSets) through the sync container (`nodecred-installer run`)
// against the real kube-apiserver: every set's Secret reaches the node's policy file through the
// one list+watch of the namespace's Secrets; a set's Secret changes only that set; a ConfigMap
// whose sets cannot be used with the Secrets as they are (a Secret not found, two sets that could
// both serve one image in one namespace) is refused with one Warning Event on it and nothing is
// written; an invalid set Secret is reported on that Secret and its set keeps its credentials. The
// node's report (its Lease) names each set's Secret version and the refusals. No password in logs,
// Events or the report.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { AppsV1Api, CoreV1Api, type CoreV1Event, type V1ConfigMap } from "@kubernetes/client-node";
import { parsePolicy } from "../../provider/core/policy.ts";
import { testEnv } from "../env/index.ts";
import {
  adminKubeConfig,
  createInstalledNamespace,
  dockerConfigJsonSecret,
  dockerConfigSecret,
  eventually,
  nodeReportOf,
  scratchDir,
  startSyncProcess,
  syncFlags,
  syncNode,
  type SyncProcess,
} from "./cluster.ts";

const ns = "scopes";
const cmName = "nodecred-config";
const hosts = {
  default: "default.scopes.test",
  a: "a.scopes.test",
  b: "b.scopes.test",
};
const passwords = {
  default: "scopes-default-Pw0",
  a1: "scopes-team-a-Pw1",
  a2: "scopes-team-a-Pw2",
  a3: "scopes-team-a-Pw3",
  b1: "scopes-team-b-Pw1",
  bConflict: "scopes-team-b-conflicting-Pw9",
};

interface FileSet {
  name: string;
  secret: string | null;
  namespaces: string[];
  onlyWhenSelected: boolean;
  auths: Record<string, { username: string; password: string }>;
}

const matchImages = `${Object.values(hosts).join("\n")}\n`;
const twoSets = `team-a:
  secret: team-a-registry
  namespaces: [team-a, "team-a-*"]
team-b:
  secret: team-b-registry
  namespaces: [team-b]
`;
const data = { matchImages, credentialSets: twoSets };

function counter(metrics: string, name: string): number {
  const line = metrics.split("\n").find((l) => l.startsWith(name));
  return line === undefined ? 0 : Number(line.split(" ").pop());
}

describe("credential sets through the sync container", { timeout: 180_000 }, () => {
  const admin = adminKubeConfig();
  const core = admin.makeApiClient(CoreV1Api);
  const apps = admin.makeApiClient(AppsV1Api);
  /** The DaemonSet template's kubelet config hash: what a rollout changes. */
  const templateHash = async (): Promise<string | undefined> =>
    (await apps.readNamespacedDaemonSet({ namespace: ns, name: "nodecred" })).spec?.template
      .metadata?.annotations?.["nodecred.io/kubelet-config-hash"];
  const node = syncNode(scratchDir("scopes"), "node", data);
  const policyFile = node.policyFile;
  let sync: SyncProcess;

  /** Replaces a Secret's credentials; its new resourceVersion. */
  const setSecret = async (
    name: string,
    auths: Record<string, { username: string; password: string }>,
  ): Promise<string> => {
    const replaced = await core.replaceNamespacedSecret({
      namespace: ns,
      name,
      body: dockerConfigSecret(name, ns, auths),
    });
    return replaced.metadata?.resourceVersion ?? "";
  };
  const setConfig = (d: Record<string, string>): Promise<V1ConfigMap> =>
    core.replaceNamespacedConfigMap({
      namespace: ns,
      name: cmName,
      body: { metadata: { name: cmName, namespace: ns }, data: d },
    });
  const sets = (): FileSet[] => {
    const doc = JSON.parse(readFileSync(policyFile, "utf8")) as { sets?: FileSet[] };
    return doc.sets ?? [];
  };
  const setNamed = (name: string): FileSet | undefined => sets().find((s) => s.name === name);
  const events = async (reason: string): Promise<CoreV1Event[]> =>
    (await core.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.reason === reason);
  /**
   * A change to a Secret no set refers to (it is in the watched namespace all the same), then
   * the policy pass it causes: the file's bytes may not change, the pass happened.
   */
  let pokes = 0;
  const nextPass = async (): Promise<void> => {
    const passes = counter(await sync.metrics(), 'nodecred_reconciles_total{loop="policy"');
    const body = {
      metadata: { name: "unrelated", namespace: ns },
      stringData: { n: String(++pokes) },
    };
    if (pokes === 1) await core.createNamespacedSecret({ namespace: ns, body });
    else await core.replaceNamespacedSecret({ namespace: ns, name: "unrelated", body });
    await eventually("a policy pass", async () =>
      counter(await sync.metrics(), 'nodecred_reconciles_total{loop="policy"') > passes
        ? true
        : undefined,
    );
  };

  before(async () => {
    const secrets = (
      [
        ["nodecred-credentials", hosts.default, passwords.default],
        ["team-a-registry", hosts.a, passwords.a1],
        ["team-b-registry", hosts.b, passwords.b1],
      ] as const
    ).map(([name, registry, password]) =>
      dockerConfigSecret(name, ns, { [registry]: { username: "puller", password } }),
    );
    await createInstalledNamespace(admin, ns, secrets, data);
    sync = await startSyncProcess(
      syncFlags(node, testEnv().kube.kubeconfig, { namespace: ns, node: "node-s", pod: "pod-s" }),
    );
  });

  after(async () => {
    assert.equal(await sync.stop(), 0);
    const logs = sync.logs();
    const messages = (await core.listNamespacedEvent({ namespace: ns })).items
      .map((e) => e.message ?? "")
      .join("\n");
    const report = JSON.stringify(await nodeReportOf(ns, "node-s"));
    assert.match(report, /team-a-registry/);
    for (const pw of Object.values(passwords)) {
      assert.ok(!logs.includes(pw), "a password reached the logs");
      assert.ok(!logs.includes(Buffer.from(`puller:${pw}`).toString("base64")), "base64 in logs");
      assert.ok(!messages.includes(pw), "a password reached an Event");
      assert.ok(!report.includes(pw), "a password reached the node report");
    }
    await core.deleteNamespace({ name: ns });
  });

  it("writes both sets, each from its own Secret, and the default set last", async () => {
    await eventually("a scoped policy file", () => {
      try {
        return sets().length === 3 ? true : undefined;
      } catch {
        return undefined;
      }
    });
    assert.ok(parsePolicy(readFileSync(policyFile, "utf8")).ok, "the provider reads it");
    assert.deepEqual(sets(), [
      {
        name: "team-a",
        secret: "team-a-registry",
        namespaces: ["team-a", "team-a-*"],
        onlyWhenSelected: false,
        auths: { [hosts.a]: { username: "puller", password: passwords.a1 } },
      },
      {
        name: "team-b",
        secret: "team-b-registry",
        namespaces: ["team-b"],
        onlyWhenSelected: false,
        auths: { [hosts.b]: { username: "puller", password: passwords.b1 } },
      },
      {
        name: "default",
        secret: null,
        namespaces: ["*"],
        onlyWhenSelected: false,
        auths: { [hosts.default]: { username: "puller", password: passwords.default } },
      },
    ]);
    assert.equal((await sync.readyz()).status, 200);
  });

  it("takes a set's Secret change into that set only", async () => {
    const before = sets();
    const rotations = counter(await sync.metrics(), "nodecred_credentials_rotations_total");
    const version = await setSecret("team-a-registry", {
      [hosts.a]: { username: "puller", password: passwords.a2 },
    });
    await eventually("team-a's new password", () =>
      setNamed("team-a")?.auths[hosts.a]?.password === passwords.a2 ? true : undefined,
    );
    const now = sets();
    assert.deepEqual(now[1], before[1], "team-b untouched");
    assert.deepEqual(now[2], before[2], "default untouched");
    await eventually("one rotation counted", async () =>
      counter(await sync.metrics(), "nodecred_credentials_rotations_total") === rotations + 1
        ? true
        : undefined,
    );
    // The node's report names the version per set's Secret; the others stay as they were.
    const reported = await eventually("the node report of that version", async () => {
      const report = await nodeReportOf(ns, "node-s");
      const bySecret = JSON.parse(
        report?.metadata?.annotations?.["nodecred.io/credential-sets"] ?? "{}",
      ) as Record<string, string>;
      return bySecret["team-a-registry"] === version ? bySecret : undefined;
    });
    assert.deepEqual(Object.keys(reported), ["team-a-registry", "team-b-registry"]);
    assert.equal(
      (await nodeReportOf(ns, "node-s"))?.metadata?.labels?.["nodecred.io/state"],
      "current",
    );
    assert.deepEqual(await events("CredentialsUpdated"), [], "no Event per node and rotation");
  });

  it("refuses a ConfigMap that names a Secret that does not exist: one Event, file unchanged, no rollout", async () => {
    const before = readFileSync(policyFile);
    const hashBefore = await templateHash();
    const rejected = counter(await sync.metrics(), "nodecred_config_rejected_total");
    // With a change the kubelet reads too (its cache duration): refused, it must not roll out.
    const cm = await setConfig({
      ...data,
      defaultCacheDuration: "1s",
      credentialSets: `${twoSets}team-c:\n  secret: team-c-registry\n  namespaces: [team-c]\n`,
    });
    const event = await eventually("a ConfigRejected event", async () =>
      (await events("ConfigRejected")).find(
        (e) => e.involvedObject.uid === cm.metadata?.uid && /team-c-registry/.test(e.message ?? ""),
      ),
    );
    assert.equal(event.type, "Warning");
    assert.equal(event.involvedObject.kind, "ConfigMap");
    assert.equal(event.involvedObject.name, cmName);
    assert.match(
      event.message ?? "",
      new RegExp(`resourceVersion ${cm.metadata?.resourceVersion}`),
    );
    assert.match(event.message ?? "", /not found/);
    await nextPass();
    await nextPass();
    assert.deepEqual(readFileSync(policyFile), before, "nothing written");
    assert.equal(
      counter(await sync.metrics(), "nodecred_config_rejected_total"),
      rejected + 1,
      "one version, counted once however many passes",
    );
    assert.equal((await events("ConfigRejected")).length, 1, "one Event for that version");
    assert.match((await sync.readyz()).body, /refused/);
    assert.notEqual((await sync.readyz()).status, 200);
    const refused = await eventually("the node report of the refusal", async () => {
      const labels = (await nodeReportOf(ns, "node-s"))?.metadata?.labels;
      return labels?.["nodecred.io/state"] === "refused" ? labels : undefined;
    });
    assert.notEqual(
      refused["nodecred.io/config-version"],
      cm.metadata?.resourceVersion,
      "the file keeps the previous version's rules",
    );
    assert.equal(await templateHash(), hashBefore, "no rollout of a refused ConfigMap");
    assert.match(sync.logs(), /ConfigMap not rolled out: its credential sets are refused/);

    // Creating the Secret is enough: the same ConfigMap version now goes through.
    await core.createNamespacedSecret({
      namespace: ns,
      body: dockerConfigSecret("team-c-registry", ns, {
        "c.scopes.test": { username: "puller", password: "scopes-team-c-Pw1" },
      }),
    });
    await eventually("team-c in the file", () => (setNamed("team-c") ? true : undefined));
    assert.equal((await sync.readyz()).status, 200);
    // Now usable, the same version rolls out.
    await eventually("the rollout of the accepted version", async () =>
      (await templateHash()) !== hashBefore ? true : undefined,
    );
    await setConfig(data);
    await eventually("team-c gone again", () => (setNamed("team-c") ? undefined : true));
    await core.deleteNamespacedSecret({ namespace: ns, name: "team-c-registry" });
  });

  it("refuses two sets that could both serve one image in one namespace, from either side", async () => {
    const before = readFileSync(policyFile);
    const existing = new Set((await events("ConfigRejected")).map((e) => e.metadata.name));
    const fresh = async (): Promise<CoreV1Event[]> =>
      (await events("ConfigRejected")).filter((e) => !existing.has(e.metadata.name));

    // The ConfigMap side: a second set on team-a's Secret, for namespaces team-a also serves.
    const cm = await setConfig({
      ...data,
      credentialSets: `${twoSets}team-a-too:\n  secret: team-a-registry\n  namespaces: ["team-*"]\n`,
    });
    const conflict = await eventually("a ConfigRejected event for the conflict", async () =>
      (await fresh()).find((e) => e.involvedObject.uid === cm.metadata?.uid),
    );
    for (const named of ["team-a", "team-a-too", hosts.a]) {
      assert.ok(conflict.message?.includes(named), `${named} in: ${conflict.message ?? ""}`);
    }
    assert.match(conflict.message ?? "", /onlyWhenSelected/, "says how to fix it");
    await nextPass();
    assert.deepEqual(readFileSync(policyFile), before, "nothing written");

    // The Secret side: the ConfigMap is fine again, then team-b's Secret gains the default
    // Secret's registry, which the default set serves in team-b too.
    await setConfig(data);
    await nextPass();
    existing.add(conflict.metadata.name ?? "");
    const version = (await core.readNamespacedConfigMap({ namespace: ns, name: cmName })).metadata;
    await setSecret("team-b-registry", {
      [hosts.b]: { username: "puller", password: passwords.b1 },
      [hosts.default]: { username: "puller", password: passwords.bConflict },
    });
    const bySecret = await eventually("a ConfigRejected event caused by a Secret", async () =>
      (await fresh()).find((e) => e.involvedObject.uid === version?.uid),
    );
    assert.match(
      bySecret.message ?? "",
      new RegExp(`resourceVersion ${version?.resourceVersion ?? "?"}`),
      "the same ConfigMap version, refused anew",
    );
    assert.ok(bySecret.message?.includes(hosts.default));
    await nextPass();
    assert.deepEqual(readFileSync(policyFile), before, "team-b's new key never reached the file");

    // Fixed by marking team-b onlyWhenSelected: written, with team-b's new Secret.
    await setConfig({
      ...data,
      credentialSets: twoSets.replace(
        "  namespaces: [team-b]\n",
        "  namespaces: [team-b]\n  onlyWhenSelected: true\n",
      ),
    });
    await eventually("team-b, onlyWhenSelected, with both keys", () => {
      const b = setNamed("team-b");
      return b?.onlyWhenSelected === true && b.auths[hosts.default] !== undefined
        ? true
        : undefined;
    });
    await setSecret("team-b-registry", {
      [hosts.b]: { username: "puller", password: passwords.b1 },
    });
    await setConfig(data);
    await eventually("team-b as it was", () => {
      const b = setNamed("team-b");
      return b?.onlyWhenSelected === false && Object.keys(b.auths).length === 1 ? true : undefined;
    });
  });

  it("keeps a set's credentials when its Secret turns invalid, and says so on that Secret", async () => {
    const teamB = setNamed("team-b");
    const rejected = counter(await sync.metrics(), "nodecred_secret_rejected_total");
    const bad = await core.replaceNamespacedSecret({
      namespace: ns,
      name: "team-b-registry",
      body: dockerConfigJsonSecret("team-b-registry", ns, '{"auths":{}}'),
    });
    const event = await eventually("a SecretRejected event on team-b-registry", async () =>
      (await events("SecretRejected")).find((e) => e.involvedObject.uid === bad.metadata?.uid),
    );
    assert.equal(event.involvedObject.kind, "Secret");
    assert.equal(event.involvedObject.name, "team-b-registry");
    assert.match(
      event.message ?? "",
      new RegExp(`resourceVersion ${bad.metadata?.resourceVersion}`),
    );
    assert.equal(counter(await sync.metrics(), "nodecred_secret_rejected_total"), rejected + 1);
    assert.match((await sync.readyz()).body, /team-b-registry invalid/);

    // Other sets still follow their Secrets meanwhile; team-b keeps what it had.
    await setSecret("team-a-registry", {
      [hosts.a]: { username: "puller", password: passwords.a3 },
    });
    await eventually("team-a's third password", () =>
      setNamed("team-a")?.auths[hosts.a]?.password === passwords.a3 ? true : undefined,
    );
    assert.deepEqual(setNamed("team-b"), teamB, "team-b's last good credentials kept");

    await setSecret("team-b-registry", {
      [hosts.b]: { username: "puller", password: passwords.b1 },
    });
    await eventually("ready again", async () =>
      (await sync.readyz()).status === 200 ? true : undefined,
    );
  });
});
