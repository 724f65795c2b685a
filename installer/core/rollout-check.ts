import { parseSettings, type Settings } from "./configmap.ts";
import { nodecredPaths } from "./flavour.ts";
import { kubeletSpec, kubeletSpecHash, type KubeletSpec } from "./kubelet-config.ts";
import type { Result } from "./problems.ts";
import { renderCredentialProviderConfig } from "./render-config.ts";

/**
 * What the cluster side checks before it uses a ConfigMap (live in the nodes' policy files, or
 * rolled out): the settings parse, and the template renders into a CredentialProviderConfig the
 * kubelet would accept (for nodecred's own config file, under the newest kubelet's rules). Same
 * core code as the node side; the node still checks again against its own flavour and kubelet
 * version before writing anything.
 */
export interface RolloutConfig {
  readonly settings: Settings;
  /** What the kubelet reads. */
  readonly kubelet: KubeletSpec;
  /** The hash of `kubelet`, stamped into the DaemonSet's pod template. */
  readonly hash: string;
}

export function checkConfigMapForRollout(
  data: Readonly<Record<string, unknown>>,
): Result<RolloutConfig> {
  const settings = parseSettings(data);
  if (!settings.ok) return settings;
  const rendered = renderCredentialProviderConfig(
    settings.value,
    { binDir: nodecredPaths.ownedBinDir, flavour: "kubeadm-rpm" },
    undefined,
  );
  if (!rendered.ok) return rendered;
  const kubelet = kubeletSpec(settings.value);
  return { ok: true, value: { settings: settings.value, kubelet, hash: kubeletSpecHash(kubelet) } };
}
