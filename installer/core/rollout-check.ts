import { parseSettings, type Settings } from "./configmap.ts";
import { configHash } from "./desired-state.ts";
import { nodecredPaths } from "./flavour.ts";
import type { Result } from "./problems.ts";
import { renderCredentialProviderConfig } from "./render-config.ts";

/**
 * What the cluster side checks before it rolls a ConfigMap out: the settings parse, and the
 * template renders into a CredentialProviderConfig the kubelet would accept (for nodecred's own
 * config file, under the newest kubelet's rules). Same core code as the node side; the node still
 * checks again against its own flavour and kubelet version before writing anything.
 */
export interface RolloutConfig {
  readonly settings: Settings;
  /** The content hash stamped into the DaemonSet's pod template. */
  readonly hash: string;
}

export function checkConfigMapForRollout(
  data: Readonly<Record<string, unknown>>,
): Result<RolloutConfig> {
  const settings = parseSettings(data);
  if (!settings.ok) return settings;
  const rendered = renderCredentialProviderConfig(
    settings.value,
    {
      providerName: settings.value.providerName,
      matchImages: settings.value.matchImages,
      defaultCacheDuration: settings.value.defaultCacheDuration,
      credentialsFile: nodecredPaths.credentialsFile,
      binDir: nodecredPaths.ownedBinDir,
      flavour: "kubeadm-rpm",
    },
    undefined,
  );
  if (!rendered.ok) return rendered;
  return { ok: true, value: { settings: settings.value, hash: configHash(settings.value) } };
}
