// ConfigMap inputs the kubelet-config tests share: parsed settings, and a credentialProviderConfig
// template with one provider entry, ours, written the way a user writes one.
import assert from "node:assert/strict";
import { parseSettings, type Settings } from "../../installer/core/settings/configmap.ts";

/** The settings of ConfigMap data that must be valid. */
export function settingsOf(data: Record<string, string>): Settings {
  const r = parseSettings(data);
  if (!r.ok) assert.fail(JSON.stringify(r.problems));
  return r.value;
}

/**
 * A template with nodecred's entry only: the context's matchImages (or these hard-coded
 * patterns), `--policy=` the policy file (or `args`), and `extra` lines after it.
 */
export function entryTemplate(
  o: {
    readonly matchImages?: readonly string[];
    readonly args?: string;
    readonly extra?: string;
  } = {},
): string {
  const matchImages =
    o.matchImages === undefined ? "{{json matchImages}}" : JSON.stringify(o.matchImages);
  return `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: {{json providerName}}
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    matchImages: ${matchImages}
    defaultCacheDuration: {{json defaultCacheDuration}}
    args: [${o.args ?? '{{json (concat "--policy=" policyFile)}}'}]
${o.extra ?? ""}`;
}
