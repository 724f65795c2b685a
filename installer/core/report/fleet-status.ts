/**
 * `kubectl nodecred status`, the answer: the objects a viewer may read (the DaemonSet, its
 * ControllerRevisions and pods, the node reports' Leases, the ConfigMap, Warning Events, the
 * Nodes) in, one row per node and a summary out. Pure: the shell (cli/kubectl-nodecred.ts) reads,
 * this decides, fleet-table.ts prints.
 *
 * A node is **current** when its nodecred pod runs the DaemonSet's latest revision and is Ready,
 * its kubelet runs the DaemonSet's kubelet config (report label `nodecred.io/kubelet-config` =
 * the template's `nodecred.io/kubelet-config-hash`), its policy file holds the ConfigMap as it is
 * (`nodecred.io/config-version` = the ConfigMap's resourceVersion) and its report's state is
 * `current` (the file holds the Secrets as the node saw them: a viewer cannot read Secrets, so the
 * credentials are judged by the node's own report).
 *
 * The **rollout** (of the DaemonSet's latest revision) is `complete` when every pod runs it and
 * is Ready; else it is `stopped` when a pod of the latest revision is not Ready and either its
 * apply init container failed (a non-zero exit: the controller replaces no further pod while
 * `maxUnavailable` pods are unavailable, and apply does not retry a rolled-back config by
 * itself) or it has not been Ready for `stuckAfterMs`; else it is `in-progress`.
 */
import { exitCodeName, exitMeanings } from "../exit-codes.ts";
import { configHashAnnotation } from "../kubelet/kubelet-spec.ts";
import { reportKeys } from "./node-report.ts";

/** Not Ready this long on the latest revision (and no failed apply): the rollout is stopped. */
export const stuckAfterMs = 5 * 60_000;

/** An object as the API server sent it (JSON). */
export type Json = Readonly<Record<string, unknown>>;

/** A read that a viewer may be refused: the objects, or what was forbidden ("list nodes"). */
export type Readable<T> = { readonly ok: true; readonly value: T } | { readonly forbidden: string };

export interface FleetInput {
  readonly namespace: string;
  readonly now: Date;
  /** The DaemonSet (required: the shell fails without it). */
  readonly daemonSet: Json;
  /** Its ControllerRevisions (those it owns are picked here). */
  readonly revisions: readonly Json[];
  /** Its pods. */
  readonly pods: readonly Json[];
  readonly leases: Readable<readonly Json[]>;
  /** The ConfigMap (null: not found). */
  readonly configMap: Readable<Json | null>;
  readonly configMapName: string;
  /** Names of the cluster's Nodes. */
  readonly nodes: Readable<readonly string[]>;
  /** Warning Events of nodecred's namespace (pods) and of `default` (Nodes). */
  readonly podEvents: Readable<readonly Json[]>;
  readonly nodeEvents: Readable<readonly Json[]>;
}

/** The failed (or running) apply init container of a node's pod. */
export interface ApplyStatus {
  /** null: still running. */
  readonly exitCode: number | null;
  /** `ROLLED_BACK` for 6; null for a code nodecred never exits with (a crash, OOM: 137). */
  readonly code: string | null;
  readonly meaning: string;
  /** The failure's message, from the container's termination message (its last JSON log line). */
  readonly message: string | null;
  /** When it ended (or started, while running). */
  readonly at: string | null;
}

export interface WarningEvent {
  readonly object: string;
  readonly reason: string;
  readonly message: string;
  readonly at: string | null;
}

export interface NodeRow {
  readonly node: string;
  readonly pod: {
    readonly name: string;
    readonly phase: string;
    /** Whether it runs the DaemonSet's latest revision. */
    readonly latest: boolean;
    readonly ready: boolean;
    readonly deleting: boolean;
  } | null;
  readonly ready: boolean;
  readonly current: boolean;
  /** The kubelet config the node runs (its report) and whether it is the DaemonSet's. */
  readonly kubeletConfig: Versioned;
  /** The ConfigMap version the node's policy file holds, and whether it is the ConfigMap's. */
  readonly policyConfig: Versioned;
  /** The default Secret's version the file holds; current: the report's state is `current`. */
  readonly credentials: Versioned & { readonly state: string | null };
  /** The report's readiness (`/readyz`) when it comes from this pod: null when not known. */
  readonly reportedReady: boolean | null;
  readonly apply: ApplyStatus | null;
  readonly lastWarning: WarningEvent | null;
  /** Why the node is not current, in words, most telling first (empty when it is). */
  readonly why: readonly string[];
}

/** A version (null: not known) and whether it is the wanted one (null: cannot tell). */
export interface Versioned {
  readonly version: string | null;
  readonly current: boolean | null;
}

export type Rollout =
  | { readonly state: "complete"; readonly updated: number; readonly total: number }
  | { readonly state: "in-progress"; readonly updated: number; readonly total: number }
  | {
      readonly state: "stopped";
      readonly updated: number;
      readonly total: number;
      /** The nodes holding it, each with why. */
      readonly at: readonly { readonly node: string; readonly why: string }[];
    };

export interface FleetStatus {
  readonly namespace: string;
  readonly daemonSet: string;
  readonly target: {
    /** The DaemonSet's latest revision (its pods' controller-revision-hash); null: unknown. */
    readonly revision: string | null;
    /** The template's kubelet config hash; null: not set yet (no rollout has happened). */
    readonly kubeletConfig: string | null;
    /** The ConfigMap's resourceVersion; null: not found or not readable. */
    readonly configVersion: string | null;
  };
  readonly summary: {
    readonly nodes: number;
    readonly installed: number;
    readonly ready: number;
    readonly current: number;
    readonly rollout: Rollout;
  };
  readonly nodes: readonly NodeRow[];
  /** What could not be read and how the answer is narrower for it. */
  readonly notes: readonly string[];
}

// --- reading plain JSON ---

function rec(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Json)
    : {};
}
function str(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}
function num(value: unknown): number | null {
  return typeof value === "number" ? value : null;
}
function arr(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}
function path(obj: unknown, ...keys: string[]): unknown {
  let at: unknown = obj;
  for (const k of keys) at = rec(at)[k];
  return at;
}
const meta = (obj: Json): Json => rec(obj["metadata"]);
const nameOf = (obj: Json): string => str(meta(obj)["name"]) ?? "";
const labelsOf = (obj: Json): Json => rec(meta(obj)["labels"]);
const annotationsOf = (obj: Json): Json => rec(meta(obj)["annotations"]);

function time(value: unknown): number | null {
  const s = str(value);
  if (s === null) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

/** The newest time an Event says it happened. */
function eventTime(e: Json): string | null {
  return (
    str(e["eventTime"]) ??
    str(e["lastTimestamp"]) ??
    str(path(e, "series", "lastObservedTime")) ??
    str(e["firstTimestamp"]) ??
    str(meta(e)["creationTimestamp"])
  );
}

/** The latest revision's hash: the owned ControllerRevision with the highest revision number. */
function latestRevision(daemonSet: Json, revisions: readonly Json[]): string | null {
  const uid = str(meta(daemonSet)["uid"]);
  const owned = revisions.filter((r) =>
    arr(meta(r)["ownerReferences"]).some(
      (o) =>
        uid === null || str(rec(o)["uid"]) === uid || str(rec(o)["name"]) === nameOf(daemonSet),
    ),
  );
  let best: Json | null = null;
  for (const r of owned) {
    if (best === null || (num(r["revision"]) ?? 0) > (num(best["revision"]) ?? 0)) best = r;
  }
  if (best === null) return null;
  return (
    str(labelsOf(best)["controller-revision-hash"]) ??
    nameOf(best).replace(`${nameOf(daemonSet)}-`, "")
  );
}

function condition(pod: Json, type: string): Json | null {
  const found = arr(path(pod, "status", "conditions")).find((c) => rec(c)["type"] === type);
  return found === undefined ? null : rec(found);
}

/** The last line of a termination message that is one of apply's JSON log lines, as a sentence. */
export function terminationText(message: string): string | null {
  const lines = message
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  for (const line of [...lines].reverse()) {
    if (!line.startsWith("{")) continue;
    try {
      const parsed = rec(JSON.parse(line));
      const msg = str(parsed["msg"]);
      if (msg === null) continue;
      const problems = arr(parsed["problems"]).flatMap((p) => (typeof p === "string" ? [p] : []));
      const shown = problems.slice(0, 3).join("; ");
      const more = problems.length > 3 ? `; and ${String(problems.length - 3)} more` : "";
      return cut(problems.length === 0 ? msg : `${msg}: ${shown}${more}`);
    } catch {
      continue;
    }
  }
  const last = lines.at(-1);
  return last === undefined ? null : cut(last);
}

function cut(text: string, max = 400): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The apply init container's failure or run; null when it succeeded or is not there. */
function applyStatus(pod: Json): ApplyStatus | null {
  const status = arr(path(pod, "status", "initContainerStatuses"))
    .map(rec)
    .find((s) => s["name"] === "apply");
  if (status === undefined) return null;
  const state = rec(status["state"]);
  // Terminated now, or waiting to be restarted after a failure (CrashLoopBackOff), or running again
  // after one (the kubelet retries a failed init container): the last run that ended says why.
  const terminated = state["terminated"] ?? path(status, "lastState", "terminated");
  const exitCode = terminated === undefined ? null : num(rec(terminated)["exitCode"]);
  if (state["running"] !== undefined && (exitCode === null || exitCode === 0)) {
    return {
      exitCode: null,
      code: null,
      meaning: "apply is running",
      message: null,
      at: str(path(state, "running", "startedAt")),
    };
  }
  if (exitCode === null || exitCode === 0) return null;
  const t = rec(terminated);
  const code = exitCodeName(exitCode);
  return {
    exitCode,
    code,
    meaning:
      code === null
        ? exitCode > 128
          ? `killed by signal ${String(exitCode - 128)}${exitCode === 137 ? " (out of memory, or killed)" : ""}`
          : "not an exit code of nodecred's"
        : exitMeanings[code],
    message: terminationText(str(t["message"]) ?? ""),
    at: str(t["finishedAt"]),
  };
}

const nodecredSources = new Set(["nodecred", "nodecred-apply"]);

function fromNodecred(e: Json): boolean {
  return (
    nodecredSources.has(str(path(e, "source", "component")) ?? "") ||
    nodecredSources.has(str(e["reportingComponent"]) ?? "")
  );
}

/**
 * The last Warning Event about the node or its current pod since that pod was created: nodecred's
 * own first (the kubelet's "Readiness probe failed" says less than the report does). When apply
 * refuses a config it rolled back before (exit 8), the rollback that proved it bad (RolledBack)
 * is the one that explains it.
 */
function lastWarning(
  events: readonly Json[],
  node: string,
  pod: Json | null,
  apply: ApplyStatus | null,
): WarningEvent | null {
  const podName = pod === null ? null : nameOf(pod);
  const since = pod === null ? null : time(meta(pod)["creationTimestamp"]);
  const about = events.filter((e) => {
    if (e["type"] !== "Warning") return false;
    const involved = rec(e["involvedObject"] ?? e["regarding"]);
    const kind = str(involved["kind"]);
    const name = str(involved["name"]);
    const mine = (kind === "Node" && name === node) || (kind === "Pod" && name === podName);
    if (!mine) return false;
    const at = time(eventTime(e));
    return since === null || at === null || at >= since - 1000;
  });
  const newest = (list: readonly Json[]): Json | null =>
    list.reduce<Json | null>(
      (best, e) =>
        best === null || (time(eventTime(e)) ?? 0) >= (time(eventTime(best)) ?? 0) ? e : best,
      null,
    );
  const own = about.filter(fromNodecred);
  const rolledBack =
    apply?.code === "CONFIG_FAILED_BEFORE"
      ? newest(own.filter((e) => e["reason"] === "RolledBack"))
      : null;
  const chosen = rolledBack ?? newest(own) ?? newest(about);
  if (chosen === null) return null;
  const involved = rec(chosen["involvedObject"] ?? chosen["regarding"]);
  return {
    object: `${str(involved["kind"]) ?? ""}/${str(involved["name"]) ?? ""}`,
    reason: str(chosen["reason"]) ?? "",
    message: cut(str(chosen["message"] ?? chosen["note"]) ?? ""),
    at: eventTime(chosen),
  };
}

/** What each report state means, for a sentence. */
const stateWords: Readonly<Record<string, string>> = {
  current: "the policy file holds the current ConfigMap and Secrets",
  refused:
    "the ConfigMap's current version is not in the policy file (refused: Event ConfigRejected on the ConfigMap)",
  incomplete: "no policy file: a part is neither in the cluster nor on the node",
  "secret-missing": "the Secret is not found; the node keeps its last credentials",
  "secret-invalid":
    "a Secret in use is malformed; its last good credentials are kept (Event SecretRejected on the Secret)",
};

/** "3m ago" from two instants. */
export function ago(at: string | null, now: Date): string {
  const t = time(at);
  if (t === null) return "";
  const s = Math.max(0, Math.round((now.getTime() - t) / 1000));
  if (s < 90) return `${String(s)}s ago`;
  if (s < 90 * 60) return `${String(Math.round(s / 60))}m ago`;
  if (s < 36 * 3600) return `${String(Math.round(s / 3600))}h ago`;
  return `${String(Math.round(s / 86400))}d ago`;
}

export function fleetStatus(input: FleetInput): FleetStatus {
  const { daemonSet, now } = input;
  const notes: string[] = [];
  const revision = latestRevision(daemonSet, input.revisions);
  const targetHash = str(
    annotationsOf(rec(path(daemonSet, "spec", "template")))[configHashAnnotation],
  );
  const configVersion = configVersionOf(input, notes);
  if (revision === null) {
    notes.push("no ControllerRevision of the DaemonSet found: pods' revisions not compared");
  }
  const podsByNode = livePods(input.pods, notes);
  const leasesByNode = reportsByNode(input.leases, notes);
  const nodeNames = nodeNamesOf(input.nodes, podsByNode, leasesByNode, notes);
  const events = warningEvents(input, notes);

  const ctx: RowContext = {
    revision,
    targetHash,
    configVersion,
    events,
    now,
    leasesReadable: "ok" in input.leases,
  };
  const rows = nodeNames.map((node) =>
    nodeRow(node, podsByNode.get(node) ?? null, leasesByNode.get(node) ?? null, ctx),
  );
  return {
    namespace: input.namespace,
    daemonSet: nameOf(daemonSet),
    target: { revision, kubeletConfig: targetHash, configVersion },
    summary: {
      nodes: rows.length,
      installed: rows.filter((r) => r.pod !== null).length,
      ready: rows.filter((r) => r.ready).length,
      current: rows.filter((r) => r.current).length,
      rollout: rolloutOf(rows, podsByNode, now),
    },
    nodes: rows,
    notes,
  };
}

/** The ConfigMap's resourceVersion; null (and a note) when it is not readable or not found. */
function configVersionOf(input: FleetInput, notes: string[]): string | null {
  if (!("ok" in input.configMap)) {
    notes.push(
      `ConfigMap ${input.configMapName} not readable (forbidden: ${input.configMap.forbidden}): policy versions not compared`,
    );
    return null;
  }
  const configMap = input.configMap.value;
  if (configMap === null) {
    notes.push(`ConfigMap ${input.configMapName} not found in ${input.namespace}`);
    return null;
  }
  return str(meta(configMap)["resourceVersion"]);
}

/** The DaemonSet's pods, the live one per node (a terminating one only when it is all there is). */
function livePods(pods: readonly Json[], notes: string[]): Map<string, Json> {
  const byNode = new Map<string, Json>();
  const deleting = (p: Json): boolean => meta(p)["deletionTimestamp"] !== undefined;
  let unscheduled = 0;
  for (const pod of pods) {
    const node = str(path(pod, "spec", "nodeName"));
    if (node === null) {
      unscheduled++;
      continue;
    }
    const before = byNode.get(node);
    if (before === undefined || (deleting(before) && !deleting(pod))) byNode.set(node, pod);
  }
  if (unscheduled > 0) notes.push(`${String(unscheduled)} nodecred pod(s) not bound to a node yet`);
  return byNode;
}

/** The node reports by node name (none, and a note, when the Leases are not readable). */
function reportsByNode(leases: Readable<readonly Json[]>, notes: string[]): Map<string, Json> {
  const byNode = new Map<string, Json>();
  if (!("ok" in leases)) {
    notes.push(
      `node reports not readable (forbidden: ${leases.forbidden}): bind the ClusterRole nodecred-view (manifests/rbac.yaml; aggregated into view) to see versions and readiness reasons`,
    );
    return byNode;
  }
  for (const lease of leases.value) {
    if (labelsOf(lease)[reportKeys.name] !== "nodecred") continue;
    byNode.set(nameOf(lease), lease);
  }
  return byNode;
}

/** The nodes to list, sorted: the cluster's, or (Nodes not readable) those nodecred reached. */
function nodeNamesOf(
  nodes: Readable<readonly string[]>,
  podsByNode: ReadonlyMap<string, Json>,
  leasesByNode: ReadonlyMap<string, Json>,
  notes: string[],
): string[] {
  let names: string[];
  if ("ok" in nodes) {
    names = [...new Set([...nodes.value, ...podsByNode.keys()])];
    const gone = [...leasesByNode.keys()].filter((n) => !names.includes(n));
    if (gone.length > 0) {
      notes.push(`reports of nodes that no longer exist, ignored: ${gone.sort().join(", ")}`);
    }
  } else {
    names = [...new Set([...podsByNode.keys(), ...leasesByNode.keys()])];
    notes.push(
      `Nodes not readable (forbidden: ${nodes.forbidden}): the nodes listed are those with a nodecred pod or report; a node nodecred never reached is not shown`,
    );
  }
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The Warning Events of the pods' namespace and of the Nodes, as far as they are readable. */
function warningEvents(input: FleetInput, notes: string[]): Json[] {
  if (!("ok" in input.podEvents)) {
    notes.push(
      `Events of ${input.namespace} not readable (forbidden: ${input.podEvents.forbidden})`,
    );
  }
  if (!("ok" in input.nodeEvents)) {
    notes.push(
      `Node Events not readable (forbidden: ${input.nodeEvents.forbidden}): nodecred records them in namespace default`,
    );
  }
  return [
    ...("ok" in input.podEvents ? input.podEvents.value : []),
    ...("ok" in input.nodeEvents ? input.nodeEvents.value : []),
  ];
}

/** The rollout of the latest revision, from the rows (see the header). */
function rolloutOf(
  rows: readonly NodeRow[],
  podsByNode: ReadonlyMap<string, Json>,
  now: Date,
): Rollout {
  const withPod = rows.filter((r) => r.pod !== null);
  const updated = withPod.filter((r) => r.pod?.latest === true && !r.pod.deleting).length;
  const total = withPod.length;
  if (withPod.every((r) => r.pod?.latest === true && r.pod.ready)) {
    return { state: "complete", updated, total };
  }
  const at = rows.flatMap((r) => {
    const why = rolloutHold(r, podsByNode.get(r.node), now);
    return why === null ? [] : [{ node: r.node, why }];
  });
  return at.length > 0
    ? { state: "stopped", updated, total, at }
    : { state: "in-progress", updated, total };
}

/**
 * Why the node stops the rollout: its pod of the latest revision is not Ready and its apply
 * failed, or it has not been Ready for stuckAfterMs; null when it does not.
 */
function rolloutHold(r: NodeRow, pod: Json | undefined, now: Date): string | null {
  const view = r.pod;
  if (view === null || !view.latest || view.ready || view.deleting) return null;
  if (r.apply !== null && r.apply.exitCode !== null) return applyWords(r.apply);
  const since =
    time(condition(pod ?? {}, "Ready")?.["lastTransitionTime"]) ??
    time(meta(pod ?? {})["creationTimestamp"]);
  if (since === null || now.getTime() - since < stuckAfterMs) return null;
  const first = r.why[0] === undefined ? "" : `: ${r.why[0]}`;
  return `not Ready for ${ago(new Date(since).toISOString(), now).replace(" ago", "")}${first}`;
}

function applyWords(apply: ApplyStatus): string {
  if (apply.exitCode === null) return "apply is running";
  const name = apply.code === null ? "" : ` ${apply.code}`;
  const message = apply.message === null ? "" : `; ${apply.message}`;
  return `apply exited ${String(apply.exitCode)}${name}: ${apply.meaning}${message}`;
}

/** What every row is compared with. */
interface RowContext {
  readonly revision: string | null;
  readonly targetHash: string | null;
  readonly configVersion: string | null;
  readonly events: readonly Json[];
  readonly now: Date;
  readonly leasesReadable: boolean;
}

type PodView = NonNullable<NodeRow["pod"]>;
type Versions = Pick<NodeRow, "kubeletConfig" | "policyConfig" | "credentials">;

function podViewOf(pod: Json | null, revision: string | null): PodView | null {
  if (pod === null) return null;
  return {
    name: nameOf(pod),
    phase: str(path(pod, "status", "phase")) ?? "Unknown",
    latest: revision === null || str(labelsOf(pod)["controller-revision-hash"]) === revision,
    ready: condition(pod, "Ready")?.["status"] === "True",
    deleting: meta(pod)["deletionTimestamp"] !== undefined,
  };
}

/** `/readyz` as the report says it, when the report comes from this pod (its Lease's holder). */
function reportedReadiness(
  lease: Json | null,
  podName: string | null,
): { readonly ready: boolean | null; readonly notReadyReason: string | null } {
  const own =
    lease !== null && podName !== null && str(path(lease, "spec", "holderIdentity")) === podName;
  if (!own) return { ready: null, notReadyReason: null };
  const ready = labelsOf(lease)[reportKeys.ready];
  return {
    ready: ready === undefined ? null : ready === "true",
    notReadyReason: str(annotationsOf(lease)[reportKeys.notReady]),
  };
}

/** The versions the report names, each against the wanted one. */
function versionsOf(lease: Json | null, ctx: RowContext): Versions {
  const labels = lease === null ? {} : labelsOf(lease);
  const running = str(labels[reportKeys.kubeletConfig]);
  const held = str(labels[reportKeys.configVersion]);
  const state = str(labels[reportKeys.state]);
  return {
    kubeletConfig: {
      version: running,
      current: ctx.targetHash === null || running === null ? null : running === ctx.targetHash,
    },
    policyConfig: {
      version: held,
      current: ctx.configVersion === null || lease === null ? null : held === ctx.configVersion,
    },
    credentials: {
      version: str(labels[reportKeys.credentialsVersion]),
      state,
      current: state === null ? null : state === "current",
    },
  };
}

/** Why the pod is not what it should be, most telling first. */
function podReasons(
  pod: PodView | null,
  apply: ApplyStatus | null,
  readiness: ReturnType<typeof reportedReadiness>,
  now: Date,
): string[] {
  if (pod === null) {
    return [
      "no nodecred pod on this node (its taints or the DaemonSet's nodeSelector, or the controller has not placed one yet)",
    ];
  }
  const why: string[] = [];
  if (pod.deleting) why.push(`pod ${pod.name} is being deleted`);
  if (!pod.latest)
    why.push(
      `pod ${pod.name} runs a previous revision of the DaemonSet: the rollout has not reached this node`,
    );
  if (apply !== null) {
    why.push(
      apply.exitCode === null
        ? `apply init container running${apply.at === null ? "" : ` (started ${ago(apply.at, now)})`}`
        : applyWords(apply),
    );
  }
  if (readiness.notReadyReason !== null && readiness.ready === false)
    why.push(`not ready: ${readiness.notReadyReason}`);
  if (!pod.ready && why.length === 0) {
    why.push(`pod ${pod.name} not Ready (phase ${pod.phase})`);
  }
  return why;
}

/** Why the report is not what it should be (or missing). */
function reportReasons(
  v: Versions,
  lease: Json | null,
  pod: PodView | null,
  ctx: RowContext,
): string[] {
  const why: string[] = [];
  if (v.kubeletConfig.current === false) {
    why.push(
      `kubelet runs config ${v.kubeletConfig.version ?? "?"}, the DaemonSet's is ${ctx.targetHash ?? "?"}`,
    );
  }
  if (v.policyConfig.current === false) {
    const held = v.policyConfig.version;
    why.push(
      held === null
        ? "policy file holds no known ConfigMap version"
        : `policy file holds ConfigMap version ${held}, the ConfigMap is at ${ctx.configVersion ?? "?"}`,
    );
  }
  const state = v.credentials.state;
  if (state !== null && state !== "current") {
    why.push(`report state ${state}: ${stateWords[state] ?? "unknown state"}`);
  }
  if (lease === null && ctx.leasesReadable && pod !== null) {
    why.push("no report (Lease) from this node yet: its sync container has not written one");
  }
  return why;
}

function nodeRow(node: string, pod: Json | null, lease: Json | null, ctx: RowContext): NodeRow {
  const podView = podViewOf(pod, ctx.revision);
  const apply = pod === null ? null : applyStatus(pod);
  const readiness = reportedReadiness(lease, podView?.name ?? null);
  const versions = versionsOf(lease, ctx);
  const why = [
    ...podReasons(podView, apply, readiness, ctx.now),
    ...reportReasons(versions, lease, podView, ctx),
  ];
  const warning = lastWarning(ctx.events, node, pod, apply);
  const ready = podView?.ready === true && !podView.deleting;
  const current =
    ready &&
    podView.latest &&
    versions.kubeletConfig.current !== false &&
    versions.policyConfig.current !== false &&
    versions.credentials.current !== false &&
    (lease !== null || !ctx.leasesReadable);
  if (!current && warning !== null) {
    why.push(
      `last warning ${ago(warning.at, ctx.now)}: ${warning.reason} on ${warning.object}: ${warning.message}`,
    );
  }
  return {
    node,
    pod: podView,
    ready,
    current,
    ...versions,
    reportedReady: readiness.ready,
    apply,
    lastWarning: warning,
    why: current ? [] : why,
  };
}
