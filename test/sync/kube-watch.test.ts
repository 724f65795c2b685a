// The installer's own watch request (installer/cluster/watch-request.ts, as kube-api.ts opens it)
// against the real kube-apiserver: the idle limit is the one passed in (a quiet watch is given up
// after it and not before, and any byte starts it again), the server's own end is a clean end, an
// answer other than 200 is an error with its status code, abort ends it once, and every kind of
// credential a kubeconfig holds works: a client certificate (the admin), a bearer token (a
// ServiceAccount's, through real RBAC), an exec plugin. The default idle limit (510 s, longer than
// the server's longest watch) is checked as a number: waiting it out is too slow for the suite.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import {
  apiConnection,
  kubeApi,
  loadKubeConfig,
  watchIdleMs,
  watchSeconds,
} from "../../installer/cluster/kube-api.ts";
import { openWatch, WatchStatusError } from "../../installer/cluster/watch-request.ts";
import { testEnv } from "../env/index.ts";
import {
  adminKubeConfig,
  eventually,
  kubectl,
  scratchDir,
  serviceAccountKubeconfig,
} from "./cluster.ts";

const ns = "kube-watch";
const quiet = "quiet";

interface Ended {
  readonly err: unknown;
  readonly at: number;
}

/** A promise of the first end, and a count of every end (there must be exactly one). */
function endRecorder(): {
  ended: Promise<Ended>;
  onEnd: (err: unknown) => void;
  count: () => number;
} {
  let count = 0;
  let resolve: (e: Ended) => void = () => undefined;
  const ended = new Promise<Ended>((r) => (resolve = r));
  return {
    ended,
    onEnd: (err) => {
      count++;
      resolve({ err, at: performance.now() });
    },
    count: () => count,
  };
}

const errorName = (err: unknown): string => (err instanceof Error ? err.name : String(err));

describe("the installer's watch request", { timeout: 90_000 }, () => {
  const admin = adminKubeConfig();
  const core = admin.makeApiClient(CoreV1Api);
  const dir = scratchDir("kube-watch");
  let tokenKubeconfig = "";
  let execKubeConfig = new KubeConfig();
  let failingExecKubeConfig = new KubeConfig();
  /** A ServiceAccount that may not read Secrets: what a refused watch is. */
  let deniedKubeconfig = "";

  const touch = (name: string, value: string): Promise<unknown> =>
    core.patchNamespacedConfigMap(
      { namespace: ns, name, body: { data: { v: value } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );

  before(async () => {
    await kubectl(["create", "namespace", ns]);
    await kubectl(
      ["apply", "-f", "-"],
      undefined,
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          {
            apiVersion: "v1",
            kind: "ServiceAccount",
            metadata: { name: "watcher", namespace: ns },
          },
          { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "denied", namespace: ns } },
          {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "Role",
            metadata: { name: "watch-configmaps", namespace: ns },
            rules: [
              { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] },
            ],
          },
          {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            metadata: { name: "watcher", namespace: ns },
            roleRef: {
              apiGroup: "rbac.authorization.k8s.io",
              kind: "Role",
              name: "watch-configmaps",
            },
            subjects: [{ kind: "ServiceAccount", name: "watcher", namespace: ns }],
          },
        ],
      }),
    );
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: quiet }, data: { v: "0" } },
    });
    tokenKubeconfig = await serviceAccountKubeconfig(dir, ns, "watcher");
    deniedKubeconfig = await serviceAccountKubeconfig(dir, ns, "denied");
    // The same ServiceAccount's token, from an exec plugin (client.authentication.k8s.io/v1).
    const token = loadKubeConfig(tokenKubeconfig).getCurrentUser()?.token ?? "";
    execKubeConfig = execPluginKubeConfig("exec", {
      apiVersion: "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      status: { token },
    });
    failingExecKubeConfig = execPluginKubeConfig("failing-exec", null);
  });

  /** The admin's cluster, with a user whose credential comes from a script printing `credential`. */
  function execPluginKubeConfig(name: string, credential: unknown): KubeConfig {
    const plugin = join(dir, `${name}.mjs`);
    writeFileSync(
      plugin,
      credential === null
        ? `process.stderr.write("no credential here\\n"); process.exit(1);\n`
        : `process.stdout.write(${JSON.stringify(JSON.stringify(credential))});\n`,
      { mode: 0o600 },
    );
    const cluster = admin.getCurrentCluster();
    assert.ok(cluster);
    const kc = new KubeConfig();
    kc.loadFromClusterAndUser(cluster, {
      name,
      exec: {
        apiVersion: "client.authentication.k8s.io/v1",
        command: process.execPath,
        args: [plugin],
        interactiveMode: "Never",
      },
    });
    return kc;
  }

  it("gives up a quiet watch after the idle limit it is given, not before", async () => {
    const idleMs = 1500;
    const api = kubeApi(admin, { watchIdleMs: idleMs });
    const end = endRecorder();
    const openedAt = performance.now();
    const handle = await api.watch(
      "configmaps",
      { namespace: ns, name: quiet },
      {
        onObject: () => undefined,
        onEnd: end.onEnd,
      },
    );
    try {
      const { err, at } = await end.ended;
      assert.equal(errorName(err), "TimeoutError");
      const after = at - openedAt;
      assert.ok(after >= idleMs, `ended ${String(Math.round(after))} ms after opening`);
      // The client's own limit was 30 s; an end this early is ours.
      assert.ok(after < idleMs + 5000, `ended only ${String(Math.round(after))} ms after opening`);
      assert.equal(end.count(), 1);
    } finally {
      handle.stop();
    }
  });

  it("starts the idle limit again with every byte: an event keeps the watch open", async () => {
    const idleMs = 2500;
    const api = kubeApi(admin, { watchIdleMs: idleMs });
    const end = endRecorder();
    let eventAt = 0;
    const handle = await api.watch(
      "configmaps",
      { namespace: ns, name: quiet },
      {
        onObject: (obj, from) => {
          if (from === "watch" && obj !== null) eventAt = performance.now();
        },
        onEnd: end.onEnd,
      },
    );
    try {
      await new Promise((r) => setTimeout(r, idleMs / 2));
      await touch(quiet, String(Date.now()));
      await eventually("the MODIFIED event", () => (eventAt > 0 ? true : undefined));
      const { err, at } = await end.ended;
      assert.equal(errorName(err), "TimeoutError");
      const afterEvent = at - eventAt;
      assert.ok(afterEvent >= idleMs - 50, `ended ${String(Math.round(afterEvent))} ms after it`);
    } finally {
      handle.stop();
    }
  });

  it("waits longer by default than the server's longest watch", () => {
    // timeoutSeconds is watchSeconds to twice that: a quiet watch is the server's to end.
    assert.ok(watchIdleMs > 2 * watchSeconds * 1000, String(watchIdleMs));
  });

  it("ends cleanly (null) when the server closes at timeoutSeconds", async () => {
    const end = endRecorder();
    const events: string[] = [];
    await openWatch(apiConnection(admin), {
      path: `/api/v1/namespaces/${ns}/configmaps`,
      query: { fieldSelector: `metadata.name=${quiet}`, timeoutSeconds: 1 },
      idleMs: 20_000,
      onEvent: (type) => events.push(type),
      onEnd: end.onEnd,
    });
    const { err } = await end.ended;
    assert.equal(err, null);
    // Without a resourceVersion the watch starts with the object as it is.
    assert.deepEqual(events, ["ADDED"]);
    assert.equal(end.count(), 1);
  });

  it("reports an answer other than 200 with its status code", async () => {
    for (const [kubeconfig, path, code] of [
      [deniedKubeconfig, `/api/v1/namespaces/${ns}/secrets`, 403],
      [testEnv().kube.kubeconfig, `/api/v1/namespaces/${ns}/no-such-kind`, 404],
    ] as const) {
      const end = endRecorder();
      await openWatch(apiConnection(loadKubeConfig(kubeconfig)), {
        path,
        query: {},
        idleMs: 20_000,
        onEvent: () => assert.fail("no event"),
        onEnd: end.onEnd,
      });
      const { err } = await end.ended;
      assert.ok(err instanceof WatchStatusError, String(err));
      assert.equal(err.statusCode, code);
      assert.equal(end.count(), 1);
    }
  });

  it("abort() ends the watch once, and no event follows it", async () => {
    const end = endRecorder();
    const events: string[] = [];
    const stream = await openWatch(apiConnection(admin), {
      path: `/api/v1/namespaces/${ns}/configmaps`,
      query: { fieldSelector: `metadata.name=${quiet}` },
      idleMs: 20_000,
      onEvent: (type) => events.push(type),
      onEnd: end.onEnd,
    });
    await eventually("the object as it is", () => (events.length > 0 ? true : undefined));
    stream.abort();
    stream.abort();
    const { err } = await end.ended;
    assert.equal(errorName(err), "AbortError");
    await touch(quiet, String(Date.now()));
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(events, ["ADDED"]);
    assert.equal(end.count(), 1);
  });

  for (const [how, kubeConfig] of [
    ["a client certificate", (): KubeConfig => admin],
    ["a bearer token", (): KubeConfig => loadKubeConfig(tokenKubeconfig)],
    ["an exec plugin", (): KubeConfig => execKubeConfig],
  ] as const) {
    it(`watches with ${how}`, async () => {
      const name = `seen-${how.split(" ").pop() ?? ""}`;
      const api = kubeApi(kubeConfig());
      const changes: string[] = [];
      const end = endRecorder();
      let listed = false;
      const handle = await api.watchCollection("configmaps", ns, {
        onList: () => (listed = true),
        onChange: (changed, obj) => changes.push(`${changed}:${obj === null ? "gone" : "here"}`),
        onEnd: end.onEnd,
      });
      try {
        assert.ok(listed);
        await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name } } });
        await core.deleteNamespacedConfigMap({ namespace: ns, name });
        await eventually("the watch's events", () =>
          changes.includes(`${name}:gone`) ? true : undefined,
        );
        assert.deepEqual(
          changes.filter((c) => c.startsWith(`${name}:`)),
          [`${name}:here`, `${name}:gone`],
        );
        assert.equal(end.count(), 0, "the watch is still open");
      } finally {
        handle.stop();
      }
    });
  }

  it("fails to open when the exec plugin gives no credential", async () => {
    await assert.rejects(
      openWatch(apiConnection(failingExecKubeConfig), {
        path: `/api/v1/namespaces/${ns}/configmaps`,
        query: {},
        idleMs: 20_000,
        onEvent: () => assert.fail("no event"),
        onEnd: () => assert.fail("never opened"),
      }),
      /no credential here/,
    );
  });
});
