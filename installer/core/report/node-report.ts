/**
 * The node report: one `coordination.k8s.io/v1` Lease per node in nodecred's namespace, named
 * after the node, saying which versions the node's policy file holds and whether it is current.
 * Written only when what it says changes (never a heartbeat), so a rotation costs each node one
 * small write, and one `kubectl get leases -l …` shows the fleet. Only versions (resourceVersions,
 * the kubelet config hash), a state and the sync container's readiness with its reason (names of
 * objects, hashes, a Secret's state): nothing derived from the credentials.
 *
 * Pure: the report from one policy pass's outcome and the previous report, equality, and the
 * Lease body and merge patch; sync/report-writer.ts sends them.
 */
import { isDns1123Subdomain } from "../settings/qualified-name.ts";

/**
 * How the node's policy file stands with the cluster's objects, worst first:
 * - `incomplete`: no policy file (a part is neither in the cluster nor on the node);
 * - `refused`: the ConfigMap's current version is not in the file (the kubelet would reject it,
 *   or its credential sets cannot be used with the Secrets as they are: Event ConfigRejected);
 * - `secret-missing`: the default Secret is not found; the file keeps its last credentials;
 * - `secret-invalid`: a Secret in use is malformed; its credentials are kept (Event SecretRejected);
 * - `current`: the file holds the current ConfigMap and Secrets.
 */
export type NodeState = "current" | "refused" | "incomplete" | "secret-missing" | "secret-invalid";

export interface NodeReport {
  readonly state: NodeState;
  /** The ConfigMap resourceVersion the file's rules come from ("": not known to this process). */
  readonly configVersion: string;
  /** The default Secret's resourceVersion whose credentials the file holds ("": not known). */
  readonly credentialsVersion: string;
  /** The kubelet config hash the node runs (the apply init container's record; "": none). */
  readonly kubeletConfig: string;
  /** Each credential set's own Secret (not the default one) → the resourceVersion the file holds. */
  readonly credentialSets: Readonly<Record<string, string>>;
  /**
   * What the sync container's `/readyz` last answered (absent: not asked yet). Part of the report
   * so that why a node is not ready is readable without a shell on it: the kubelet's probe Event
   * names the status code, not the body.
   */
  readonly readiness?: Readiness;
}

/** `/readyz`'s answer: ready, or the reason it is not (a stable sentence: no times, no counters). */
export type Readiness =
  { readonly ready: true } | { readonly ready: false; readonly reason: string };

/** An annotation is no log: a reason longer than this is cut (the server allows 256 KiB in all). */
export const notReadyMaxLength = 1024;

/** The report with `/readyz`'s latest answer: what run.ts offers the writer when either changes. */
export function withReadiness(report: NodeReport, readiness: Readiness | null): NodeReport {
  return readiness === null ? report : { ...report, readiness };
}

/** How one Secret was found by a pass (sync/policy-sync.ts SecretState, structurally). */
export interface SecretSeen {
  readonly kind: "ok" | "unknown" | "missing" | "invalid";
  readonly resourceVersion?: string;
}

/** What one policy pass found and did (a subset of sync/policy-sync.ts PolicyOutcome). */
export interface PassOutcome {
  readonly secret: SecretSeen;
  readonly setSecrets: ReadonlyMap<string, SecretSeen>;
  /** The ConfigMap's kubelet config hash when it is valid (its rules went into the file). */
  readonly configHash: string | null;
  /** "" when the ConfigMap is not listed, not readable, or not found. */
  readonly configResourceVersion: string;
  readonly file: { readonly kind: "written" | "unchanged" | "incomplete" | "refused" };
}

/** Worst first (see NodeState): the first whose test a pass meets is its state, else `current`. */
const stateRules: readonly (readonly [NodeState, (o: PassOutcome) => boolean])[] = [
  ["incomplete", (o) => o.file.kind === "incomplete"],
  // A file refused, or a ConfigMap listed whose rules are invalid (no hash).
  [
    "refused",
    (o) => o.file.kind === "refused" || (o.configHash === null && o.configResourceVersion !== ""),
  ],
  ["secret-missing", (o) => o.secret.kind === "missing"],
  [
    "secret-invalid",
    (o) =>
      o.secret.kind === "invalid" || [...o.setSecrets.values()].some((s) => s.kind === "invalid"),
  ],
];

function stateOf(outcome: PassOutcome): NodeState {
  return stateRules.find(([, holds]) => holds(outcome))?.[0] ?? "current";
}

/** Each set's Secret version the file holds, by set name (sorted). */
function setVersions(
  previous: NodeReport | null,
  outcome: PassOutcome,
  taken: boolean,
): Record<string, string> {
  if (!taken) return { ...(previous?.credentialSets ?? {}) };
  // The file was made of these sets: each holds its Secret's version if the pass took it.
  const out: Record<string, string> = {};
  for (const [name, seen] of [...outcome.setSecrets].sort(([a], [b]) => compare(a, b))) {
    const version = seen.kind === "ok" ? seen.resourceVersion : previous?.credentialSets[name];
    if (version !== undefined && version !== "") out[name] = version;
  }
  return out;
}

/**
 * The report after a pass. Versions are what the file holds: a part the pass did not take (a
 * refused ConfigMap, an invalid Secret) keeps the previous report's version. null: nothing to say
 * yet (the Secrets are not listed: the pass saw only half of the inputs).
 */
export function nodeReport(
  previous: NodeReport | null,
  outcome: PassOutcome,
  appliedConfigHash: string | null,
): NodeReport | null {
  const { secret, file } = outcome;
  if (secret.kind === "unknown") return previous;
  const taken = file.kind === "written" || file.kind === "unchanged";
  return {
    state: stateOf(outcome),
    configVersion:
      taken && outcome.configHash !== null
        ? outcome.configResourceVersion
        : (previous?.configVersion ?? ""),
    credentialsVersion:
      taken && secret.kind === "ok"
        ? (secret.resourceVersion ?? "")
        : (previous?.credentialsVersion ?? ""),
    kubeletConfig: appliedConfigHash ?? "",
    credentialSets: setVersions(previous, outcome, taken),
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sameReport(a: NodeReport, b: NodeReport): boolean {
  return JSON.stringify(reportFields(a)) === JSON.stringify(reportFields(b));
}

/** The Lease's labels (selectable, shown with `kubectl get -L`) and annotations. */
export const reportKeys = {
  name: "app.kubernetes.io/name",
  node: "nodecred.io/node",
  configVersion: "nodecred.io/config-version",
  credentialsVersion: "nodecred.io/credentials-version",
  kubeletConfig: "nodecred.io/kubelet-config",
  state: "nodecred.io/state",
  credentialSets: "nodecred.io/credential-sets",
  /** "true" | "false": the sync container's `/readyz` (absent until the kubelet first probes). */
  ready: "nodecred.io/ready",
  /** Why `/readyz` fails, in words (absent when ready). */
  notReady: "nodecred.io/not-ready",
} as const;

const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** IsValidLabelValue: a value that does not fit is left out rather than refused by the server. */
function fitsLabel(value: string): boolean {
  return value.length <= 63 && labelValue.test(value);
}

/** Every managed key → its value, or null when the report has none (a merge patch removes it). */
function reportFields(
  report: NodeReport,
  nodeName = "",
): {
  labels: Record<string, string | null>;
  annotations: Record<string, string | null>;
} {
  const label = (value: string): string | null => (value !== "" && fitsLabel(value) ? value : null);
  const sets = Object.entries(report.credentialSets).sort(([a], [b]) => compare(a, b));
  const readiness = report.readiness;
  return {
    labels: {
      [reportKeys.name]: "nodecred",
      [reportKeys.node]: label(nodeName),
      [reportKeys.configVersion]: label(report.configVersion),
      [reportKeys.credentialsVersion]: label(report.credentialsVersion),
      [reportKeys.kubeletConfig]: label(report.kubeletConfig),
      [reportKeys.state]: report.state,
      [reportKeys.ready]: readiness === undefined ? null : String(readiness.ready),
    },
    annotations: {
      [reportKeys.credentialSets]:
        sets.length === 0 ? null : JSON.stringify(Object.fromEntries(sets)),
      [reportKeys.notReady]:
        readiness === undefined || readiness.ready
          ? null
          : readiness.reason.slice(0, notReadyMaxLength),
    },
  };
}

/** Who writes the report: the Lease is named after the node, held (and owned) by its sync pod. */
export interface Reporter {
  readonly nodeName: string;
  readonly podName: string;
  /** The pod's uid (downward API metadata.uid): the Lease is garbage-collected with the pod. "": no owner. */
  readonly podUid: string;
}

/** A Lease name is a DNS subdomain, as node names are. */
export function leaseNameOk(nodeName: string): boolean {
  return isDns1123Subdomain(nodeName);
}

/** metav1.MicroTime as the API server parses it: RFC 3339 with exactly six fractional digits. */
export function microTime(at: Date): string {
  return `${at.toISOString().slice(0, 23)}000Z`;
}

export interface LeaseWrite {
  /** A JSON merge patch for the Lease as this process last wrote it (or as anyone left it). */
  readonly patch: Record<string, unknown>;
  /** The whole Lease, when it does not exist yet. */
  readonly create: Record<string, unknown>;
}

/**
 * The write that turns the Lease from `written` (what this process last wrote; null: nothing yet,
 * the Lease may hold another pod's report) into `next`; null when they are equal: no request.
 * The first write sets every managed key (null removes what a previous pod left) and takes the
 * ownership over to this pod; later ones send only what changed. renewTime: when it changed.
 */
export function leaseWrite(
  written: NodeReport | null,
  next: NodeReport,
  reporter: Reporter,
  at: Date,
): LeaseWrite | null {
  if (written !== null && sameReport(written, next)) return null;
  const fields = reportFields(next, reporter.nodeName);
  const before = written === null ? null : reportFields(written, reporter.nodeName);
  const changed = (
    now: Record<string, string | null>,
    then: Record<string, string | null> | undefined,
  ): Record<string, string | null> =>
    Object.fromEntries(Object.entries(now).filter(([k, v]) => then === undefined || then[k] !== v));
  const present = (all: Record<string, string | null>): Record<string, string> =>
    Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== null));
  const owners =
    reporter.podUid === ""
      ? {}
      : {
          ownerReferences: [
            { apiVersion: "v1", kind: "Pod", name: reporter.podName, uid: reporter.podUid },
          ],
        };
  const spec = { holderIdentity: reporter.podName, renewTime: microTime(at) };
  const labels = changed(fields.labels, before?.labels);
  const annotations = changed(fields.annotations, before?.annotations);
  return {
    patch: {
      metadata: {
        ...(Object.keys(labels).length === 0 ? {} : { labels }),
        ...(Object.keys(annotations).length === 0 ? {} : { annotations }),
        ...(written === null ? owners : {}),
      },
      spec,
    },
    create: {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name: reporter.nodeName,
        labels: present(fields.labels),
        ...(Object.keys(present(fields.annotations)).length === 0
          ? {}
          : { annotations: present(fields.annotations) }),
        ...owners,
      },
      spec: { ...spec, acquireTime: spec.renewTime },
    },
  };
}
