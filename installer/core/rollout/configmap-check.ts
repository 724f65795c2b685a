import { kubeletConfigFor, referenceNode } from "../kubelet/kubelet-config.ts";
import type { KubeletSpec } from "../kubelet/kubelet-spec.ts";
import type { Result } from "../problems.ts";
import { configMapLimits, parseSettings, type Settings } from "../settings/configmap.ts";

/**
 * What the cluster side checks before it uses a ConfigMap (live in the nodes' policy files, or
 * rolled out): the settings parse, and the kubelet config pipeline (kubelet/kubelet-config.ts)
 * accepts them on the reference node under any kubelet version. The node still runs the same
 * pipeline against its own flavour and kubelet version before writing anything.
 */
export interface RolloutConfig {
  readonly settings: Settings;
  /** What the kubelet reads. */
  readonly kubelet: KubeletSpec;
  /** The hash of `kubelet`, stamped into the DaemonSet's pod template. */
  readonly hash: string;
}

/**
 * The last ConfigMap checked and the answer: the sync container checks the same ConfigMap from
 * both of its loops at every event and again at every resync, and at the largest accepted size a
 * check costs a few hundred milliseconds of the event loop (scripts/bench-limits). Only a
 * ConfigMap within the API server's size bound is remembered.
 */
let last: { readonly key: string; readonly result: Result<RolloutConfig> } | null = null;

export function checkConfigMapForRollout(
  data: Readonly<Record<string, unknown>>,
): Result<RolloutConfig> {
  let key: string | null = null;
  try {
    key = JSON.stringify(data);
  } catch {
    // not JSON (a BigInt, a cycle): not remembered, checked as it is
  }
  if (key !== null && last?.key === key) return last.result;
  const result = check(data);
  last = key !== null && key.length <= 2 * configMapLimits.dataBytes ? { key, result } : null;
  return result;
}

function check(data: Readonly<Record<string, unknown>>): Result<RolloutConfig> {
  const settings = parseSettings(data);
  if (!settings.ok) return settings;
  const config = kubeletConfigFor(settings.value, referenceNode, "any");
  if (!config.ok) return config;
  return {
    ok: true,
    value: { settings: settings.value, kubelet: config.value.spec, hash: config.value.hash },
  };
}
