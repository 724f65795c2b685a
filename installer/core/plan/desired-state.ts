import type { Credential } from "../../../provider/core/keyring.ts";
import { bytesOf, byteString } from "../node/byte-string.ts";
import type { Settings } from "../settings/configmap.ts";
import { nodecredPaths, type Layout } from "../node/flavour.ts";
import { hostPathParents } from "../node/host-path.ts";
import { editKubeletFlagsFile } from "../node/kubelet-flags.ts";
import { kubeletSpec, kubeletSpecHash, type KubeletSpec } from "../kubelet/kubelet-spec.ts";
import type { KubeletVersion } from "../kubelet/kubelet-version.ts";
import { mergeProviders, providerNames, removeProviders } from "../kubelet/merge-config.ts";
import { currentPolicy, nextPolicy } from "./policy-file.ts";
import { problem, type Problem, type Result } from "../problems.ts";
import { providerToPlain, renderCredentialProviderConfig } from "../kubelet/render-config.ts";
import { findOwned, type FileRole, type NodeState } from "../node/state.ts";
import { parseStrictYaml } from "../strict-yaml.ts";
import { checkCredentialProviderConfig } from "../kubelet/validate-config.ts";

/** A file as it is on the host now. */
export interface CurrentFile {
  readonly bytes: Uint8Array;
  readonly mode: number;
}

export interface DesiredFile {
  readonly path: string;
  readonly role: FileRole;
  readonly mode: number;
  readonly bytes: Uint8Array;
}

export interface DesiredDir {
  readonly path: string;
  readonly mode: number;
  /** Our own directory: its mode is enforced even if it already exists. */
  readonly owned: boolean;
}

export interface NodeInputs {
  readonly settings: Settings;
  /** The default Secret's credentials (credentialsFromSecret). */
  readonly credentials: readonly Credential[];
  readonly providerBinary: Uint8Array;
  readonly layout: Layout;
  readonly unit: string;
  readonly kubeletVersion?: KubeletVersion;
  /**
   * Current content of the layout's config file and flags file, and of the policy file (null:
   * absent): credential sets whose Secrets apply cannot see keep the credentials it holds.
   */
  readonly current: ReadonlyMap<string, CurrentFile | null>;
  readonly state: NodeState | null;
}

export interface DesiredState {
  readonly layout: Layout;
  readonly unit: string;
  /** In apply order: binary, policy (role credentials), config, flags. */
  readonly files: readonly DesiredFile[];
  readonly dirs: readonly DesiredDir[];
  readonly providerNames: readonly string[];
  /** What the kubelet reads, and its hash (the DaemonSet template's). */
  readonly kubelet: KubeletSpec;
  readonly kubeletConfigHash: string;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function checkMerged(
  text: string,
  path: string,
  kubeletVersion: KubeletVersion | undefined,
): Problem[] {
  const parsed = parseStrictYaml(text, path);
  if (!parsed.ok) return [...parsed.problems];
  const checked = checkCredentialProviderConfig(
    parsed.value,
    kubeletVersion === undefined ? {} : { kubeletVersion },
  );
  return checked.problems.map((p) => ({ ...p, path: `${path}: ${p.path}` }));
}

/**
 * Everything this node should have, computed from values only. Fails, listing every problem,
 * when anything would leave the kubelet unable to start.
 */
export function desiredNodeState(inputs: NodeInputs): Result<DesiredState> {
  const { settings, layout, state, kubeletVersion } = inputs;
  const problems: Problem[] = [];
  const rendered = renderCredentialProviderConfig(
    settings,
    { binDir: layout.binDir, flavour: layout.flavour },
    kubeletVersion,
  );
  if (!rendered.ok) return rendered;

  // apply sees only the Secret the DaemonSet mounts: the other sets keep what the node has.
  const policy = nextPolicy({
    credentials: { ok: true, value: inputs.credentials },
    settings: { ok: true, value: settings },
    current: currentPolicy(inputs.current.get(nodecredPaths.policyFile)?.bytes ?? null),
  });
  if (policy.kind === "refused") return { ok: false, problems: policy.problems };
  if (policy.kind === "incomplete") {
    // Both parts were given: only a bug gets here.
    return {
      ok: false,
      problems: [problem("policy file", `missing ${policy.missing.join(", ")}`)],
    };
  }

  const files: DesiredFile[] = [
    {
      path: `${layout.binDir}/${settings.providerName}`,
      role: "provider-binary",
      mode: 0o755,
      bytes: inputs.providerBinary,
    },
    {
      path: nodecredPaths.policyFile,
      role: "credentials",
      mode: 0o600,
      bytes: policy.bytes,
    },
  ];

  const currentConfig = inputs.current.get(layout.configPath) ?? null;
  const configIsOurs =
    currentConfig === null || findOwned(state, layout.configPath)?.origin === "created";
  if (layout.wiring.kind === "merge" && currentConfig === null) {
    problems.push(
      problem(
        layout.configPath,
        `expected the node's existing credential provider config here (flavour ${layout.flavour}); its kubelet flags point at it, and nodecred only adds to it`,
      ),
    );
  } else if (configIsOurs) {
    files.push({
      path: layout.configPath,
      role: "provider-config",
      mode: 0o644,
      bytes: encoder.encode(rendered.value.text),
    });
  } else {
    const text = decoder.decode(currentConfig.bytes);
    if (findOwned(state, layout.configPath) === undefined) {
      // First touch of someone else's file: an entry with our name is theirs, not ours.
      const before = parseStrictYaml(text, layout.configPath);
      if (before.ok && providerNames(before.value).includes(settings.providerName)) {
        problems.push(
          problem(
            layout.configPath,
            `already has a provider named ${JSON.stringify(settings.providerName)} that nodecred did not install; set data.providerName to another name`,
          ),
        );
      }
    }
    // A provider we installed under an earlier name must go: its binary is removed too.
    const names = rendered.value.config.providers.map((p) => p.name);
    const stale = (state?.providerNames ?? []).filter((n) => !names.includes(n));
    const base =
      stale.length === 0
        ? { ok: true as const, value: text }
        : removeProviders(text, stale, layout.configPath);
    const merged = base.ok
      ? mergeProviders(
          base.value,
          rendered.value.config.providers.map(providerToPlain),
          layout.configPath,
        )
      : base;
    if (!merged.ok) problems.push(...merged.problems);
    else {
      problems.push(...checkMerged(merged.value, layout.configPath, kubeletVersion));
      files.push({
        path: layout.configPath,
        role: "provider-config",
        mode: currentConfig.mode & 0o7777,
        bytes: encoder.encode(merged.value),
      });
    }
  }

  if (layout.wiring.kind === "flags") {
    const { flagsFile, variable } = layout.wiring;
    const current = inputs.current.get(flagsFile) ?? null;
    // Edited as bytes: whatever the file holds besides our flags comes back unchanged.
    const edited = editKubeletFlagsFile(
      current === null ? null : byteString(current.bytes),
      variable,
      { configPath: layout.configPath, binDir: layout.binDir },
      flagsFile,
    );
    if (!edited.ok) problems.push(...edited.problems);
    else {
      files.push({
        path: flagsFile,
        role: "kubelet-flags",
        mode: current === null ? 0o644 : current.mode & 0o7777,
        bytes: bytesOf(edited.value),
      });
    }
  }
  if (problems.length > 0) return { ok: false, problems };

  const kubelet = kubeletSpec(settings);
  const dirs = new Map<string, DesiredDir>();
  for (const f of files) {
    for (const d of hostPathParents(f.path)) {
      if (dirs.has(d)) continue;
      const owned = d === nodecredPaths.credentialsDir || d.startsWith(`${nodecredPaths.root}/`);
      const mode = d === nodecredPaths.credentialsDir ? 0o700 : 0o755;
      dirs.set(d, { path: d, mode, owned: owned || d === nodecredPaths.root });
    }
  }
  return {
    ok: true,
    value: {
      layout,
      unit: inputs.unit,
      files,
      dirs: [...dirs.values()],
      providerNames: rendered.value.config.providers.map((p) => p.name),
      kubelet,
      kubeletConfigHash: kubeletSpecHash(kubelet),
    },
  };
}
