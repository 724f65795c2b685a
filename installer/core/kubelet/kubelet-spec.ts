import { createHash } from "node:crypto";
import type { Matching, Settings } from "../settings/configmap.ts";
import { envelopeFor, envelopePatterns, type Envelope } from "./envelope.ts";
import { isRecord } from "../strict-yaml.ts";

/**
 * What of the settings the kubelet reads, and so what only a kubelet restart can change: the
 * provider's name, its cache duration, the template, the matching mode, the patterns it
 * registers (the envelope in `live`, matchImages itself in `kubelet`) and whether it sends
 * service-account tokens (scoped credentials). Its hash is what the
 * DaemonSet's pod template carries: a change of it rolls out with a restart on every node; any
 * other change (matchImages inside the envelope, credentials) reaches the nodes' policy files
 * live. Node facts (flavour, paths) are left out on purpose, so every node and the sync loop agree.
 */
export interface KubeletSpec {
  readonly matching: Matching;
  readonly providerName: string;
  readonly defaultCacheDuration: string;
  /** `live`: the envelope; `kubelet`: null (matchImages are registered as they are). */
  readonly envelope: Envelope | null;
  /** The patterns the kubelet registers for nodecred. */
  readonly registered: readonly string[];
  /** sha256 of the template override, null for the built-in template. */
  readonly templateSha256: string | null;
  /**
   * Scoped credentials (credentialSets set): the provider entry carries tokenAttributes, so the
   * kubelet sends each pod's service-account token. The sets themselves live in the policy file.
   */
  readonly scoped: boolean;
}

export function kubeletSpec(settings: Settings): KubeletSpec {
  const envelope = settings.matching === "live" ? envelopeFor(settings.matchImages) : null;
  return {
    matching: settings.matching,
    providerName: settings.providerName,
    defaultCacheDuration: settings.defaultCacheDuration,
    envelope,
    registered: envelope === null ? [...settings.matchImages] : envelopePatterns(envelope),
    templateSha256:
      settings.template === null
        ? null
        : createHash("sha256").update(settings.template).digest("hex"),
    scoped: settings.credentialSets !== null,
  };
}

/**
 * The pod-template annotation whose change makes the DaemonSet controller roll a new kubelet
 * config out (nodecred 0.1 used `nodecred.io/config-hash`, a hash of every setting); the sync
 * container patches it, `kubectl nodecred status` compares each node's report with it.
 */
export const configHashAnnotation = "nodecred.io/kubelet-config-hash";

/** The content hash of a spec (16 hex digits): equal exactly when the kubelet would read the same. */
export function kubeletSpecHash(spec: KubeletSpec): string {
  const canonical = JSON.stringify([
    spec.matching,
    spec.providerName,
    spec.defaultCacheDuration,
    spec.registered,
    spec.templateSha256,
    // Only when scoped: every unscoped config keeps the hash it had before scopes existed, so
    // upgrading nodecred restarts no kubelet.
    ...(spec.scoped ? ["scoped"] : []),
  ]);
  return createHash("sha256").update(canonical).digest("hex").slice(0, 16);
}

/** kubeletSpecHash(kubeletSpec(settings)). */
export function kubeletConfigHash(settings: Settings): string {
  return kubeletSpecHash(kubeletSpec(settings));
}

function listed(items: readonly string[]): string {
  return items.map((p) => (p === "" ? "no port" : `port ${p}`)).join(", ");
}

/**
 * Why the kubelet must restart to go from `before` (what a node runs; null when unknown) to
 * `after`, one reason per difference; empty when it need not.
 */
export function restartReasons(before: KubeletSpec | null, after: KubeletSpec): string[] {
  if (before === null) return ["this node's kubelet config is not known"];
  const reasons: string[] = [];
  const changed = (what: string, a: string, b: string): void => {
    if (a !== b) reasons.push(`${what} ${a} -> ${b}`);
  };
  changed("matching", before.matching, after.matching);
  changed("providerName", before.providerName, after.providerName);
  changed("defaultCacheDuration", before.defaultCacheDuration, after.defaultCacheDuration);
  if (before.scoped !== after.scoped) {
    reasons.push(
      after.scoped
        ? "credentialSets added: scoped credentials, the kubelet sends service account tokens (tokenAttributes)"
        : "credentialSets removed: unscoped credentials, the kubelet sends no service account tokens",
    );
  }
  if (before.templateSha256 !== after.templateSha256) {
    reasons.push(
      after.templateSha256 === null
        ? "credentialProviderConfigTemplate removed"
        : "credentialProviderConfigTemplate changed",
    );
  }
  // Another mode registers other patterns altogether: nothing more to say about them.
  if (before.matching !== after.matching) return reasons;
  const a = before.envelope;
  const b = after.envelope;
  if (a !== null && b !== null) {
    const added = b.ports.filter((p) => !a.ports.includes(p));
    const removed = a.ports.filter((p) => !b.ports.includes(p));
    if (added.length > 0) {
      reasons.push(`matchImages use ${listed(added)}, which the kubelet's envelope does not cover`);
    }
    if (removed.length > 0) {
      reasons.push(`matchImages no longer use ${listed(removed)} (the envelope shrinks)`);
    }
    if (b.segments > a.segments) {
      reasons.push(
        `a matchImages host has ${String(b.segments)} dot-segments; the envelope covers ${String(a.segments)}`,
      );
    } else if (b.segments < a.segments) {
      reasons.push(
        `no matchImages host has more than ${String(b.segments)} dot-segments any more (the envelope shrinks from ${String(a.segments)})`,
      );
    }
  } else if (JSON.stringify(before.registered) !== JSON.stringify(after.registered)) {
    reasons.push(
      "matchImages changed, and with matching: kubelet the kubelet registers them itself",
    );
  }
  return reasons;
}

/** A spec as recorded in a status file, or null when it is not one. */
export function parseKubeletSpec(value: unknown): KubeletSpec | null {
  if (!isRecord(value)) return null;
  const {
    matching,
    providerName,
    defaultCacheDuration,
    envelope,
    registered,
    templateSha256,
    scoped,
  } = value;
  if (matching !== "live" && matching !== "kubelet") return null;
  if (typeof providerName !== "string" || typeof defaultCacheDuration !== "string") return null;
  if (!Array.isArray(registered) || !registered.every((r) => typeof r === "string")) return null;
  if (templateSha256 !== null && typeof templateSha256 !== "string") return null;
  // Absent in what nodecred wrote before scoped credentials existed: unscoped.
  if (scoped !== undefined && typeof scoped !== "boolean") return null;
  let env: Envelope | null = null;
  if (envelope !== null) {
    if (!isRecord(envelope)) return null;
    const { ports, segments } = envelope;
    if (!Array.isArray(ports) || !ports.every((p) => typeof p === "string")) return null;
    if (typeof segments !== "number" || !Number.isInteger(segments)) return null;
    env = { ports: ports, segments };
  }
  return {
    matching,
    providerName,
    defaultCacheDuration,
    envelope: env,
    registered: registered,
    templateSha256,
    scoped: scoped ?? false,
  };
}

/**
 * What `apply --status-file` records in the pod's emptyDir once the node runs a config: the sync
 * container's readiness compares the hash with the pod's, and its restart reasons start from the
 * spec.
 */
export interface AppliedStatus {
  readonly kubeletConfigHash: string;
  readonly kubelet: KubeletSpec;
  readonly flavour: string;
  readonly restarted: boolean;
}

/** The status file's content, or null when it is not one apply wrote. */
export function parseAppliedStatus(text: string): AppliedStatus | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(v)) return null;
  const { kubeletConfigHash, kubelet, flavour, restarted } = v;
  const spec = parseKubeletSpec(kubelet);
  if (typeof kubeletConfigHash !== "string" || spec === null) return null;
  if (typeof flavour !== "string" || typeof restarted !== "boolean") return null;
  return { kubeletConfigHash, kubelet: spec, flavour, restarted };
}
