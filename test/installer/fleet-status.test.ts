// `kubectl nodecred status`'s answer (installer/core/report/fleet-status.ts) from objects as the API
// server sends them: which node is current and why not, the rollout (complete, in progress,
// stopped at a node), and what a viewer without some grants still gets. The objects are real
// against the test apiserver in test/sync/kubectl-status.test.ts.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { exitCodes, exitMeanings } from "../../installer/core/exit-codes.ts";
import {
  fleetStatus,
  stuckAfterMs,
  terminationText,
  type FleetInput,
  type Json,
} from "../../installer/core/report/fleet-status.ts";
import { fleetJson, fleetTable } from "../../installer/core/report/fleet-table.ts";
import { parseKubectlArgs } from "../../installer/cli/kubectl-nodecred.ts";

const now = new Date("2025-06-01T12:00:00Z");
const minutesAgo = (m: number): string => new Date(now.getTime() - m * 60_000).toISOString();
const target = "aaaaaaaaaaaaaaaa";
const old = "bbbbbbbbbbbbbbbb";

const daemonSet: Json = {
  metadata: { name: "nodecred", uid: "ds-uid" },
  spec: {
    selector: { matchLabels: { "app.kubernetes.io/name": "nodecred" } },
    template: { metadata: { annotations: { "nodecred.io/kubelet-config-hash": target } } },
  },
};
const revision = (hash: string, n: number): Json => ({
  metadata: {
    name: `nodecred-${hash}`,
    labels: { "controller-revision-hash": hash },
    ownerReferences: [{ kind: "DaemonSet", name: "nodecred", uid: "ds-uid" }],
  },
  revision: n,
});

interface PodSpec {
  node: string;
  rev?: string;
  ready?: boolean;
  readySince?: number;
  apply?: { exitCode: number; message?: string; waiting?: boolean; retrying?: boolean } | "running";
  deleting?: boolean;
}
const podName = (node: string, rev = "new"): string => `nodecred-${node}-${rev}`;
function pod(p: PodSpec): Json {
  const rev = p.rev ?? "new";
  const apply =
    p.apply === undefined
      ? { name: "apply", state: { terminated: { exitCode: 0 } } }
      : p.apply === "running"
        ? { name: "apply", state: { running: { startedAt: minutesAgo(1) } } }
        : p.apply.waiting === true || p.apply.retrying === true
          ? {
              name: "apply",
              state:
                p.apply.retrying === true
                  ? { running: { startedAt: minutesAgo(0) } }
                  : { waiting: { reason: "CrashLoopBackOff" } },
              lastState: {
                terminated: {
                  exitCode: p.apply.exitCode,
                  message: p.apply.message ?? "",
                  finishedAt: minutesAgo(1),
                },
              },
            }
          : {
              name: "apply",
              state: {
                terminated: {
                  exitCode: p.apply.exitCode,
                  message: p.apply.message ?? "",
                  finishedAt: minutesAgo(1),
                },
              },
            };
  return {
    metadata: {
      name: podName(p.node, rev),
      creationTimestamp: minutesAgo(30),
      labels: { "controller-revision-hash": rev },
      ...(p.deleting === true ? { deletionTimestamp: minutesAgo(0) } : {}),
    },
    spec: { nodeName: p.node },
    status: {
      phase: p.ready === false ? "Pending" : "Running",
      conditions: [
        {
          type: "Ready",
          status: p.ready === false ? "False" : "True",
          lastTransitionTime: minutesAgo(p.readySince ?? 20),
        },
      ],
      initContainerStatuses: [apply],
    },
  };
}
interface LeaseSpec {
  node: string;
  holder?: string;
  kubelet?: string;
  config?: string;
  state?: string;
  ready?: boolean;
  notReady?: string;
}
function lease(l: LeaseSpec): Json {
  return {
    metadata: {
      name: l.node,
      labels: {
        "app.kubernetes.io/name": "nodecred",
        "nodecred.io/node": l.node,
        "nodecred.io/kubelet-config": l.kubelet ?? target,
        "nodecred.io/config-version": l.config ?? "100",
        "nodecred.io/credentials-version": "200",
        "nodecred.io/state": l.state ?? "current",
        ...(l.ready === undefined ? {} : { "nodecred.io/ready": String(l.ready) }),
      },
      ...(l.notReady === undefined ? {} : { annotations: { "nodecred.io/not-ready": l.notReady } }),
    },
    spec: { holderIdentity: l.holder ?? podName(l.node) },
  };
}
const warning = (
  kind: string,
  name: string,
  reason: string,
  message: string,
  at: number,
  component = "nodecred-apply",
): Json => ({
  metadata: { name: `${name}.${reason}` },
  type: "Warning",
  involvedObject: { kind, name },
  reason,
  message,
  source: { component },
  lastTimestamp: minutesAgo(at),
});

/** The Leases list of these node reports. */
function reports(...specs: LeaseSpec[]): FleetInput["leases"] {
  return { ok: true, value: specs.map(lease) };
}

function input(change: Partial<FleetInput> = {}): FleetInput {
  const nodes = ["n1", "n2", "n3"];
  return {
    namespace: "nodecred",
    now,
    daemonSet,
    revisions: [revision("old", 1), revision("new", 2)],
    pods: nodes.map((node) => pod({ node })),
    leases: { ok: true, value: nodes.map((node) => lease({ node, ready: true })) },
    configMap: {
      ok: true,
      value: { metadata: { name: "nodecred-config", resourceVersion: "100" } },
    },
    configMapName: "nodecred-config",
    nodes: { ok: true, value: nodes },
    podEvents: { ok: true, value: [] },
    nodeEvents: { ok: true, value: [] },
    ...change,
  };
}
const rowOf = (status: ReturnType<typeof fleetStatus>, node: string) => {
  const row = status.nodes.find((r) => r.node === node);
  assert.ok(row, `a row for ${node}`);
  return row;
};

const rolledBackLine = JSON.stringify({
  level: "error",
  code: "ROLLED_BACK",
  msg: "kubelet did not come back healthy with the new configuration (kubelet exited 3 times); the previous files were restored and kubelet is healthy again",
});

describe("fleet status: which nodes are current, and why not", () => {
  it("all current: every row current, no reasons, rollout complete", () => {
    const s = fleetStatus(input());
    assert.deepEqual(
      s.nodes.map((r) => [r.node, r.current, r.why]),
      [
        ["n1", true, []],
        ["n2", true, []],
        ["n3", true, []],
      ],
    );
    assert.deepEqual(s.summary, {
      nodes: 3,
      installed: 3,
      ready: 3,
      current: 3,
      rollout: { state: "complete", updated: 3, total: 3 },
    });
    assert.deepEqual(s.target, { revision: "new", kubeletConfig: target, configVersion: "100" });
    assert.deepEqual(s.notes, []);
  });

  const cases: [string, Partial<FleetInput>, string, RegExp][] = [
    [
      "the kubelet runs another config",
      {
        leases: reports({ node: "n1", kubelet: old }, { node: "n2" }, { node: "n3" }),
      },
      "n1",
      /kubelet runs config bbbbbbbbbbbbbbbb, the DaemonSet's is aaaaaaaaaaaaaaaa/,
    ],
    [
      "the policy file holds an older ConfigMap version",
      {
        leases: reports({ node: "n1", config: "99" }, { node: "n2" }, { node: "n3" }),
      },
      "n1",
      /policy file holds ConfigMap version 99, the ConfigMap is at 100/,
    ],
    [
      "a rejected Secret: the report's state, in words",
      {
        leases: reports(
          {
            node: "n1",
            state: "secret-invalid",
            ready: false,
            notReady: "policy file not synced yet (Secret nodecred-credentials invalid)",
          },
          { node: "n2" },
          { node: "n3" },
        ),
        pods: [pod({ node: "n1", ready: false }), pod({ node: "n2" }), pod({ node: "n3" })],
      },
      "n1",
      /not ready: policy file not synced yet \(Secret nodecred-credentials invalid\)[^]*secret-invalid: a Secret in use is malformed/,
    ],
    [
      "no report from the node yet",
      { leases: reports({ node: "n2" }, { node: "n3" }) },
      "n1",
      /no report \(Lease\) from this node yet/,
    ],
    [
      "no pod on a node",
      { pods: [pod({ node: "n2" }), pod({ node: "n3" })] },
      "n1",
      /no nodecred pod on this node/,
    ],
    [
      "the apply init container still running",
      {
        pods: [
          pod({ node: "n1", ready: false, apply: "running" }),
          pod({ node: "n2" }),
          pod({ node: "n3" }),
        ],
      },
      "n1",
      /apply init container running \(started 60s ago\)/,
    ],
  ];
  for (const [name, change, node, why] of cases) {
    it(name, () => {
      const s = fleetStatus(input(change));
      const row = rowOf(s, node);
      assert.equal(row.current, false);
      assert.match(row.why.join("\n"), why);
      for (const other of s.nodes.filter((r) => r.node !== node)) {
        assert.equal(other.current, true, `${other.node} is current`);
      }
    });
  }

  it("a report held by an earlier pod: its versions count, its readiness does not", () => {
    const s = fleetStatus(
      input({
        leases: reports(
          {
            node: "n1",
            holder: "nodecred-gone",
            ready: false,
            notReady: "kubelet not healthy",
          },
          { node: "n2" },
          { node: "n3" },
        ),
      }),
    );
    const row = rowOf(s, "n1");
    assert.equal(row.reportedReady, null);
    assert.equal(row.current, true);
    assert.doesNotMatch(JSON.stringify(s), /kubelet not healthy/);
  });
});

describe("fleet status: the rollout", () => {
  const rolling = (n2: PodSpec): Partial<FleetInput> => ({
    pods: [pod({ node: "n1" }), pod(n2), pod({ node: "n3", rev: "old" })],
  });

  it("in progress: updated 2 of 3, the old node waits", () => {
    const s = fleetStatus(input(rolling({ node: "n2", ready: false, readySince: 1 })));
    assert.deepEqual(s.summary.rollout, { state: "in-progress", updated: 2, total: 3 });
    assert.match(rowOf(s, "n3").why.join("\n"), /previous revision of the DaemonSet/);
  });

  it("stopped at the node whose apply rolled back (exit 6), with its meaning and message", () => {
    const s = fleetStatus(
      input(
        rolling({
          node: "n2",
          ready: false,
          readySince: 1,
          apply: { exitCode: 6, message: `{"level":"info","msg":"x"}\n${rolledBackLine}\n` },
        }),
      ),
    );
    const rollout = s.summary.rollout;
    assert.ok(rollout.state === "stopped");
    assert.deepEqual(
      rollout.at.map((a) => a.node),
      ["n2"],
    );
    assert.deepEqual(rowOf(s, "n2").apply, {
      exitCode: 6,
      code: "ROLLED_BACK",
      meaning: exitMeanings.ROLLED_BACK,
      message:
        "kubelet did not come back healthy with the new configuration (kubelet exited 3 times); the previous files were restored and kubelet is healthy again",
      at: minutesAgo(1),
    });
    const table = fleetTable(s);
    assert.match(table, /Rollout: +STOPPED at n2 \(updated 2 of 3\)/);
    assert.match(table, /n2: apply exited 6 ROLLED_BACK: kubelet unhealthy after the restart/);
  });

  it("exit 8 waiting to retry: the rollback that proved the config bad is the warning shown", () => {
    const s = fleetStatus(
      input({
        ...rolling({
          node: "n2",
          ready: false,
          readySince: 1,
          apply: { exitCode: 8, waiting: true },
        }),
        podEvents: {
          ok: true,
          value: [
            warning(
              "Pod",
              podName("n2"),
              "RolledBack",
              "ROLLED_BACK: kubelet did not come back healthy",
              5,
            ),
            warning("Pod", podName("n2"), "ApplyFailed", "CONFIG_FAILED_BEFORE: already failed", 1),
            warning("Pod", podName("n2"), "Unhealthy", "Readiness probe failed", 0, "kubelet"),
          ],
        },
      }),
    );
    const row = rowOf(s, "n2");
    assert.equal(row.apply?.code, "CONFIG_FAILED_BEFORE");
    assert.equal(row.lastWarning?.reason, "RolledBack");
    assert.equal(s.summary.rollout.state, "stopped");
  });

  it("exit 8 and running again (the kubelet's retry): still stopped, the last run says why", () => {
    const s = fleetStatus(
      input(
        rolling({
          node: "n2",
          ready: false,
          readySince: 1,
          apply: { exitCode: 8, retrying: true },
        }),
      ),
    );
    assert.equal(rowOf(s, "n2").apply?.code, "CONFIG_FAILED_BEFORE");
    assert.equal(s.summary.rollout.state, "stopped");
  });

  it("running for the first time (no failed run before): in progress, not stopped", () => {
    const s = fleetStatus(
      input(rolling({ node: "n2", ready: false, readySince: 1, apply: "running" })),
    );
    assert.equal(rowOf(s, "n2").apply?.code ?? null, null);
    assert.notEqual(s.summary.rollout.state, "stopped");
  });

  it("the newest warning of nodecred's own, not the kubelet's probe; none from an earlier pod", () => {
    const s = fleetStatus(
      input({
        pods: [
          pod({ node: "n1", ready: false, readySince: 1 }),
          pod({ node: "n2" }),
          pod({ node: "n3" }),
        ],
        podEvents: {
          ok: true,
          value: [
            warning("Pod", podName("n1"), "Unhealthy", "Readiness probe failed", 0, "kubelet"),
            warning("Pod", "nodecred-n1-earlier", "ApplyFailed", "an earlier pod", 0),
          ],
        },
        nodeEvents: {
          ok: true,
          value: [
            warning(
              "Node",
              "n1",
              "SecretMissing",
              "Secret nodecred/nodecred-credentials not found",
              2,
              "nodecred",
            ),
            warning("Node", "n1", "ApplyFailed", "before this pod", 40),
          ],
        },
      }),
    );
    assert.equal(rowOf(s, "n1").lastWarning?.reason, "SecretMissing");
  });

  it("not Ready on the latest revision for longer than stuckAfterMs, without a failed apply: stopped", () => {
    const minutes = stuckAfterMs / 60_000;
    const fresh = fleetStatus(
      input(rolling({ node: "n2", ready: false, readySince: minutes - 1 })),
    );
    assert.equal(fresh.summary.rollout.state, "in-progress");
    const stuck = fleetStatus(
      input(rolling({ node: "n2", ready: false, readySince: minutes + 1 })),
    );
    assert.equal(stuck.summary.rollout.state, "stopped");
    assert.match(fleetTable(stuck), /n2: not Ready for 6m/);
  });

  it("all pods on the latest revision but one not Ready: not complete", () => {
    const s = fleetStatus(
      input({
        pods: [
          pod({ node: "n1" }),
          pod({ node: "n2", ready: false, readySince: 1 }),
          pod({ node: "n3" }),
        ],
      }),
    );
    assert.deepEqual(s.summary.rollout, { state: "in-progress", updated: 3, total: 3 });
  });
});

describe("fleet status: what a viewer without some grants still gets", () => {
  it("Nodes forbidden: the nodes known from pods and reports, and a note saying so", () => {
    const s = fleetStatus(
      input({
        nodes: { forbidden: "list nodes (cluster-wide)" },
        leases: reports({ node: "n1" }, { node: "n2" }, { node: "n3" }, { node: "n4" }),
      }),
    );
    assert.deepEqual(
      s.nodes.map((r) => r.node),
      ["n1", "n2", "n3", "n4"],
    );
    assert.match(
      s.notes.join("\n"),
      /Nodes not readable \(forbidden: list nodes \(cluster-wide\)\)/,
    );
    // With Nodes readable, a report of a node that is gone is left out (and said).
    const readable = fleetStatus(
      input({
        leases: reports({ node: "n1" }, { node: "n2" }, { node: "n3" }, { node: "n4" }),
      }),
    );
    assert.deepEqual(
      readable.nodes.map((r) => r.node),
      ["n1", "n2", "n3"],
    );
    assert.match(readable.notes.join("\n"), /no longer exist, ignored: n4/);
  });

  it("Leases forbidden: pods still judged, versions unknown, the missing grant named", () => {
    const s = fleetStatus(
      input({ leases: { forbidden: "list leases.coordination.k8s.io in namespace nodecred" } }),
    );
    assert.match(
      s.notes.join("\n"),
      /node reports not readable .* bind the ClusterRole nodecred-view/,
    );
    assert.equal(s.summary.current, 3, "Ready pods on the latest revision");
    assert.deepEqual(rowOf(s, "n1").kubeletConfig, { version: null, current: null });
  });

  it("an empty fleet and a nodecred with no rollout yet (no hash on the template)", () => {
    const bare = { ...daemonSet, spec: { template: { metadata: {} } } };
    const s = fleetStatus(
      input({
        daemonSet: bare,
        nodes: { ok: true, value: [] },
        pods: [],
        leases: reports(),
      }),
    );
    assert.equal(s.target.kubeletConfig, null);
    assert.equal(s.nodes.length, 0);
    assert.match(fleetTable(s), /\(no nodes\)/);
  });
});

describe("fleet status output", () => {
  it("a table with a row per node, the reasons under it, and a summary; JSON with kind and version", () => {
    const s = fleetStatus(
      input({
        leases: reports({ node: "n1", config: "99" }, { node: "n2" }, { node: "n3" }),
      }),
    );
    const table = fleetTable(s);
    const lines = table.split("\n");
    assert.match(
      lines[0] ?? "",
      /^NODE +READY +CURRENT +POD +KUBELET CONFIG +POLICY \(CONFIGMAP\) +CREDENTIALS$/,
    );
    assert.match(
      lines[1] ?? "",
      /^n1 +yes +NO +nodecred-n1-new +aaaaaaaaaaaaaaaa current +99 OLD +200 current$/,
    );
    assert.match(lines[2] ?? "", /^ {4}- policy file holds ConfigMap version 99/);
    assert.match(table, /^Nodes: +3: 2 current, 3 ready, 3 with a nodecred pod$/m);
    const json = JSON.parse(fleetJson(s)) as Record<string, unknown>;
    assert.equal(json["kind"], "FleetStatus");
    assert.equal(json["apiVersion"], "nodecred.io/v1alpha1");
    assert.deepEqual(Object.keys(json), [
      "apiVersion",
      "kind",
      "namespace",
      "daemonSet",
      "target",
      "summary",
      "nodes",
      "notes",
    ]);
  });

  it("a termination message: the last JSON log line with its problems; else the last line", () => {
    const line = JSON.stringify({
      code: "INVALID_INPUT",
      msg: "ConfigMap invalid",
      problems: ["a", "b", "c", "d"],
    });
    assert.equal(terminationText(`noise\n${line}\n`), "ConfigMap invalid: a; b; c; and 1 more");
    assert.equal(terminationText("plain failure\n\n"), "plain failure");
    assert.equal(terminationText(""), null);
  });
});

describe("kubectl nodecred's command line", () => {
  const cases: [string, string[], ReturnType<typeof parseKubectlArgs>][] = [
    [
      "defaults",
      ["status"],
      {
        kind: "status",
        options: { kubeconfig: null, context: null, namespace: "nodecred", output: "table" },
      },
    ],
    [
      "every flag, both forms",
      ["status", "--kubeconfig", "k", "--context=c", "-n", "ns", "-o", "json"],
      {
        kind: "status",
        options: { kubeconfig: "k", context: "c", namespace: "ns", output: "json" },
      },
    ],
    [
      "a word that names an object's own property is no flag",
      ["status", "toString"],
      { kind: "usage-error", problems: ["toString: unexpected argument"] },
    ],
    ["help", ["--help"], { kind: "help" }],
    ["help command", ["help"], { kind: "help" }],
    ["no command", [], { kind: "usage-error", problems: ["a command is required: status"] }],
    [
      "every problem at once",
      ["stats", "-o", "yaml", "--bogus", "-n"],
      {
        kind: "usage-error",
        problems: [
          "--bogus: unknown flag",
          "-n: needs a value",
          "stats: unknown command",
          "-o yaml: must be table or json",
        ],
      },
    ],
  ];
  for (const [name, argv, expected] of cases) {
    it(name, () => {
      assert.deepEqual(parseKubectlArgs(argv), expected);
    });
  }
});

describe("exit codes: the one-line meanings and installer/README.md's table name the same codes", () => {
  it("every code has a meaning, and README's rows match exitCodes", () => {
    assert.deepEqual(Object.keys(exitMeanings).sort(), Object.keys(exitCodes).sort());
    const readme = readFileSync(join(import.meta.dirname, "../../installer/README.md"), "utf8");
    const rows = [...readme.matchAll(/^\| (\d+) +\| (?:`([A-Z_]+)`)? *\|/gm)].map((m) => [
      Number(m[1]),
      m[2] ?? "OK",
    ]);
    assert.deepEqual(
      rows,
      Object.entries(exitCodes).map(([name, code]) => [code, name]),
    );
  });
});
