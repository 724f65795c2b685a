import { createHash } from "node:crypto";
import { configHashAnnotation } from "../kubelet/kubelet-spec.ts";
import { nodecredPaths } from "../node/flavour.ts";
import { formatProblem, type Problem } from "../problems.ts";
import { settingsKeys } from "../settings/configmap.ts";
import { matchImageWarnings } from "../settings/match-image.ts";
import type { ConfigOutcome, PolicyOutcome, RejectedVersion } from "./outcomes.ts";

/**
 * What a node says about each pass of its sync container's loops — log lines, counters, Events —
 * as a pure function of the pass's outcome (outcomes.ts). sync/run.ts carries the effects out and
 * nothing else: it sends each Event once per `once` key (a resync sees the same versions again),
 * and counts a `countFirst` counter only when it sent the Event for the first time.
 *
 * Two kinds of Event: what this node did goes on its Pod and its Node; what every node sees alike
 * (this version of a Secret or the ConfigMap is invalid, applied live, rolled out) is one Event on
 * that object for the whole cluster, named by reason and resourceVersion (and a variant when one
 * version can be refused for several reasons), so whoever creates it first reports and the rest
 * find it there. Messages name objects, versions, hashes, registry keys: never credentials.
 */

/** The objects a node's sync container reads and writes, by name (all in `namespace`). */
export interface SyncObjects {
  readonly namespace: string;
  readonly secret: string;
  readonly configMap: string;
  readonly daemonSet: string;
  readonly pod: string;
  readonly node: string;
}

/** The fields of a structured log line (installer/log.ts): flat, no objects, so redaction holds. */
export type LogFields = Readonly<
  Record<string, string | number | boolean | null | readonly string[]>
>;

export type CounterName = "rotations" | "liveConfigUpdates" | "rejectedConfigs" | "rejectedSecrets";

/** An Event as cluster/kube-api.ts records it. */
export interface EventRecord {
  readonly regarding: {
    kind: "Pod" | "Node" | "ConfigMap" | "Secret";
    name: string;
    namespace?: string;
    uid?: string;
  };
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
  /** A fixed name: one Event per cluster, whoever creates it first. */
  readonly name?: string;
}

export type Effect =
  | {
      readonly kind: "log";
      readonly level: "info" | "warn";
      readonly message: string;
      readonly fields: LogFields;
    }
  | { readonly kind: "count"; readonly counter: CounterName }
  /** Events sent once per `once` key. */
  | {
      readonly kind: "events";
      readonly once: string;
      readonly events: readonly EventRecord[];
      readonly countFirst?: CounterName;
    }
  /** Counted once per key, with no Event (a refusal only this node can see). */
  | { readonly kind: "count-once"; readonly once: string; readonly counter: CounterName }
  /** The config loop's pass counts as a success (`nodecred_last_success_timestamp_seconds`). */
  | { readonly kind: "succeeded" };

/** At most five problems in a message, then how many more. */
export function summary(problems: readonly Problem[]): string {
  const shown = problems.slice(0, 5).map(formatProblem).join("; ");
  return problems.length > 5 ? `${shown}; and ${String(problems.length - 5)} more` : shown;
}

/** What this node did: one Event on its Pod and one on its Node. */
function nodeEvents(
  objects: SyncObjects,
  once: string,
  type: "Normal" | "Warning",
  reason: string,
  message: string,
): Effect {
  return {
    kind: "events",
    once,
    events: [
      {
        regarding: { kind: "Pod", name: objects.pod, namespace: objects.namespace },
        type,
        reason,
        message,
      },
      { regarding: { kind: "Node", name: objects.node }, type, reason, message },
    ],
  };
}

/** What every node sees alike: one Event on the object, named by reason and version. */
function clusterEvent(
  objects: SyncObjects,
  regarding: { readonly kind: "Secret" | "ConfigMap"; readonly name: string; readonly uid: string },
  event: {
    readonly version: string;
    readonly type: "Normal" | "Warning";
    readonly reason: string;
    readonly message: string;
    readonly variant?: string;
    readonly countFirst?: CounterName;
  },
): Effect {
  const { version, variant = "" } = event;
  const resourceVersion = version === "" || variant === "" ? version : `${version}.${variant}`;
  return {
    kind: "events",
    once: `${event.reason}-${resourceVersion}`,
    events: [
      {
        regarding: {
          kind: regarding.kind,
          name: regarding.name,
          namespace: objects.namespace,
          ...(regarding.uid === "" ? {} : { uid: regarding.uid }),
        },
        type: event.type,
        reason: event.reason,
        message: event.message,
        ...(resourceVersion === ""
          ? {}
          : { name: `nodecred-${event.reason.toLowerCase()}.${resourceVersion}` }),
      },
    ],
    ...(event.countFirst === undefined ? {} : { countFirst: event.countFirst }),
  };
}

/**
 * A Secret or ConfigMap version that cannot be used: logged by every node, one Warning Event on
 * the object for the cluster, counted once per version.
 */
function rejected(
  objects: SyncObjects,
  kind: "Secret" | "ConfigMap",
  name: string,
  version: RejectedVersion,
  kept: string,
): Effect[] {
  return [
    {
      kind: "log",
      level: "warn",
      message: `${kind} rejected; ${kept}`,
      fields: {
        object: `${objects.namespace}/${name}`,
        resourceVersion: version.resourceVersion,
        problems: version.problems.map(formatProblem),
      },
    },
    clusterEvent(
      objects,
      { kind, name, uid: version.uid },
      {
        version: version.resourceVersion,
        type: "Warning",
        reason: kind === "Secret" ? "SecretRejected" : "ConfigRejected",
        message: `${kind} ${name} (resourceVersion ${version.resourceVersion}) rejected, ${kept}: ${summary(version.problems)}`,
        countFirst: kind === "Secret" ? "rejectedSecrets" : "rejectedConfigs",
      },
    ),
  ];
}

/**
 * The ConfigMap's credential sets cannot be used with the Secrets as they are (a Secret not
 * found, two sets that could serve one image in one namespace): logged by every node, one Warning
 * Event on the ConfigMap per version and set of problems (a Secret edit can make the same version
 * refused for another reason), counted once each.
 */
function refusedConfig(
  objects: SyncObjects,
  outcome: PolicyOutcome,
  problems: readonly Problem[],
): Effect[] {
  const resourceVersion = outcome.configResourceVersion;
  const variant = createHash("sha256").update(JSON.stringify(problems)).digest("hex").slice(0, 12);
  const message = `ConfigMap ${objects.configMap}${resourceVersion === "" ? "" : ` (resourceVersion ${resourceVersion})`} refused with the Secrets as they are, nodes keep their policy file: ${summary(problems)}`;
  const log: Effect = {
    kind: "log",
    level: "warn",
    message: "ConfigMap refused with the Secrets as they are; policy file kept",
    fields: {
      object: `${objects.namespace}/${objects.configMap}`,
      resourceVersion,
      problems: problems.map(formatProblem),
    },
  };
  if (resourceVersion === "") {
    // The ConfigMap itself is not readable here (only the file's own sets were checked): the
    // node reports it.
    return [
      log,
      { kind: "count-once", once: `config-refused-${variant}`, counter: "rejectedConfigs" },
      nodeEvents(objects, `config-refused-event-${variant}`, "Warning", "ConfigRejected", message),
    ];
  }
  return [
    log,
    clusterEvent(
      objects,
      { kind: "ConfigMap", name: objects.configMap, uid: outcome.configUid },
      {
        version: resourceVersion,
        type: "Warning",
        reason: "ConfigRejected",
        message,
        variant,
        countFirst: "rejectedConfigs",
      },
    ),
  ];
}

/** How the pass found the Secrets: a missing default Secret, rejected versions. */
function secretEffects(objects: SyncObjects, outcome: PolicyOutcome): Effect[] {
  const out: Effect[] = [];
  const { secret } = outcome;
  const secretName = `${objects.namespace}/${objects.secret}`;
  if (secret.kind === "missing") {
    out.push(
      {
        kind: "log",
        level: "warn",
        message: "Secret not found; keeping the current credentials",
        fields: { object: secretName },
      },
      nodeEvents(
        objects,
        "secret-missing",
        "Warning",
        "SecretMissing",
        `Secret ${secretName} not found; the node keeps its last credentials`,
      ),
    );
  } else if (secret.kind === "invalid") {
    out.push(...rejected(objects, "Secret", objects.secret, secret, "last good credentials kept"));
  }
  for (const [name, state] of outcome.setSecrets) {
    if (state.kind !== "invalid") continue;
    out.push(
      ...rejected(
        objects,
        "Secret",
        name,
        state,
        "its credential sets keep their last good credentials",
      ),
    );
  }
  return out;
}

/** A policy file written with new credentials: counted once, logged per Secret taken. */
function credentialEffects(
  objects: SyncObjects,
  outcome: PolicyOutcome,
  changed: readonly string[],
): Effect[] {
  // Only credentials that came from a Secret as it is now (not kept from the file) are news.
  const updated = changed.flatMap((name) => {
    const state = name === objects.secret ? outcome.secret : outcome.setSecrets.get(name);
    return state?.kind === "ok" ? [{ name, resourceVersion: state.resourceVersion }] : [];
  });
  if (updated.length === 0) return [];
  return [
    { kind: "count", counter: "rotations" },
    ...updated.map((u): Effect => ({
      kind: "log",
      level: "info",
      message: "credentials written",
      fields: {
        action: "write",
        path: nodecredPaths.policyFile,
        object: `${objects.namespace}/${u.name}`,
        resourceVersion: u.resourceVersion,
      },
    })),
  ];
}

/**
 * New rules in the policy file: live where this node's kubelet config already reaches (and then
 * the ConfigMap says so once for the cluster), else after the rollout restarts this node's kubelet.
 */
function ruleEffects(
  objects: SyncObjects,
  outcome: PolicyOutcome,
  configHash: string,
  appliedHash: string | null,
): Effect[] {
  const live = appliedHash === configHash;
  const version = outcome.configResourceVersion;
  const out: Effect[] = [
    { kind: "count", counter: "liveConfigUpdates" },
    {
      kind: "log",
      level: "info",
      message: "matchImages written to the policy file",
      fields: {
        action: "write",
        path: nodecredPaths.policyFile,
        object: `${objects.namespace}/${objects.configMap}`,
        resourceVersion: version,
        reason: live
          ? `inside this node's kubelet config ${configHash}: live, no kubelet restart`
          : `the kubelet config changes too (${appliedHash ?? "unknown"} -> ${configHash}): live where the current one reaches, the rest after the rollout restarts this node's kubelet`,
      },
    },
  ];
  if (live) {
    out.push(
      clusterEvent(
        objects,
        { kind: "ConfigMap", name: objects.configMap, uid: outcome.configUid },
        {
          version,
          type: "Normal",
          reason: "ConfigAppliedLive",
          message: `ConfigMap ${objects.configMap} (resourceVersion ${version}): matchImages changed inside the kubelet's envelope (kubelet config ${configHash} unchanged); every node's policy file has it: no rollout, no kubelet restart`,
        },
      ),
    );
  }
  return out;
}

/** What a node says after a policy pass; `appliedHash`: the kubelet config the node runs. */
export function policyEffects(
  objects: SyncObjects,
  outcome: PolicyOutcome,
  appliedHash: string | null,
): Effect[] {
  const out = secretEffects(objects, outcome);
  const { file } = outcome;
  switch (file.kind) {
    case "refused":
      return [...out, ...refusedConfig(objects, outcome, file.problems)];
    case "incomplete":
      return [
        ...out,
        {
          kind: "log",
          level: "warn",
          message: "policy file not written: a part is neither in the cluster nor on the node",
          fields: {
            path: nodecredPaths.policyFile,
            reason: `no valid ${file.missing.join(" or ")}`,
          },
        },
      ];
    case "unchanged":
      return out;
    case "written":
      out.push(...credentialEffects(objects, outcome, file.credentialsChanged));
      if (file.rulesChanged && outcome.configHash !== null) {
        out.push(...ruleEffects(objects, outcome, outcome.configHash, appliedHash));
      }
      return out;
  }
}

/**
 * matchImages entries the kubelet accepts but that can never match an image (a scheme left in, a
 * malformed glob): a warning once per ConfigMap version, since nothing refuses them.
 */
function neverMatching(
  objects: SyncObjects,
  outcome: Extract<ConfigOutcome, { kind: "current" | "rolled-out" }>,
): Effect[] {
  const version = outcome;
  const warnings = matchImageWarnings(
    outcome.config.settings.matchImages,
    `data.${settingsKeys.matchImages}`,
  );
  if (warnings.length === 0) return [];
  return [
    {
      kind: "log",
      level: "warn",
      message: "matchImages entries that can never match an image",
      fields: {
        object: `${objects.namespace}/${objects.configMap}`,
        resourceVersion: version.resourceVersion,
        problems: warnings.map(formatProblem),
      },
    },
    clusterEvent(
      objects,
      { kind: "ConfigMap", name: objects.configMap, uid: version.uid },
      {
        version: version.resourceVersion,
        type: "Warning",
        reason: "ConfigWarning",
        message: `ConfigMap ${objects.configMap} (resourceVersion ${version.resourceVersion}) is in use, but these matchImages entries can never match an image: ${summary(warnings)}`,
      },
    ),
  ];
}

/** What a node says after a config pass (sync/config-rollout.ts syncConfig). */
export function configEffects(objects: SyncObjects, outcome: ConfigOutcome): Effect[] {
  const configMap = `${objects.namespace}/${objects.configMap}`;
  switch (outcome.kind) {
    case "current":
      return [{ kind: "succeeded" }, ...neverMatching(objects, outcome)];
    case "rolled-out":
      return [
        { kind: "succeeded" },
        ...neverMatching(objects, outcome),
        {
          kind: "log",
          level: "info",
          message: "kubelet config change rolled out",
          fields: {
            action: "patch",
            object: `${objects.namespace}/${objects.daemonSet}`,
            annotation: configHashAnnotation,
            hash: outcome.config.hash,
            reason: outcome.reasons.join("; "),
          },
        },
        clusterEvent(
          objects,
          { kind: "ConfigMap", name: objects.configMap, uid: outcome.uid },
          {
            version: outcome.resourceVersion,
            type: "Normal",
            reason: "ConfigRolloutStarted",
            message: `ConfigMap ${objects.configMap} (resourceVersion ${outcome.resourceVersion}) needs a kubelet restart (${outcome.reasons.join("; ")}): DaemonSet ${objects.daemonSet} rolls kubelet config ${outcome.config.hash} out node by node`,
          },
        ),
      ];
    case "missing":
      return [
        {
          kind: "log",
          level: "warn",
          message: "ConfigMap not found; nothing to roll out",
          fields: { object: configMap },
        },
      ];
    case "invalid":
      return rejected(objects, "ConfigMap", objects.configMap, outcome, "nodes keep their config");
  }
}
