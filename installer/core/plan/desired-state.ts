import type { Credential } from "../../../provider/core/keyring.ts";
import { bytesOf, byteString } from "../node/byte-string.ts";
import type { Settings } from "../settings/configmap.ts";
import { nodecredPaths, type Layout } from "../node/flavour.ts";
import { hostPathParents } from "../node/host-path.ts";
import { editKubeletFlagsFile } from "../node/kubelet-flags.ts";
import {
  checkWrittenConfig,
  kubeletConfigFor,
  templateNodeOf,
  type KubeletConfig,
} from "../kubelet/kubelet-config.ts";
import type { KubeletSpec } from "../kubelet/kubelet-spec.ts";
import type { KubeletVersion } from "../kubelet/kubelet-version.ts";
import { editProviders, readForeignConfig } from "../kubelet/merge-config.ts";
import { providerToPlain } from "../kubelet/provider-entry.ts";
import { currentPolicy, nextPolicy } from "./policy-file.ts";
import { problem, type Problem, type Result } from "../problems.ts";
import { findOwned, type FileRole, type NodeState } from "../node/state.ts";

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
   * Current content of the layout's config file and flags file, of the provider binary's path
   * (someone else's file there is refused), and of the policy file (null: absent): credential
   * sets whose Secrets apply cannot see keep the credentials it holds.
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

/**
 * Everything this node should have, computed from values only. Fails, listing every problem,
 * when anything would leave the kubelet unable to start. In apply order (state.ts applyOrder):
 * the provider binary, the policy file, the provider config (ours, or merged into the node's
 * own), the kubelet's flags (on flavours wired by flags).
 */
export function desiredNodeState(inputs: NodeInputs): Result<DesiredState> {
  const { settings, layout } = inputs;
  const kubelet = kubeletConfigFor(settings, templateNodeOf(layout), inputs.kubeletVersion);
  if (!kubelet.ok) return kubelet;
  const policy = policyFile(inputs);
  if (!policy.ok) return policy;
  const problems: Problem[] = [];
  const binary = providerBinaryFile(inputs);
  if (!binary.ok) problems.push(...binary.problems);
  const files: DesiredFile[] = binary.ok ? [binary.value, policy.value] : [policy.value];
  for (const file of [providerConfigFile(inputs, kubelet.value), flagsFile(inputs)]) {
    if (file === null) continue;
    if (file.ok) files.push(file.value);
    else problems.push(...file.problems);
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      layout,
      unit: inputs.unit,
      files,
      dirs: desiredDirs(files),
      providerNames: kubelet.value.config.providers.map((p) => p.name),
      kubelet: kubelet.value.spec,
      kubeletConfigHash: kubelet.value.hash,
    },
  };
}

/** Where the provider binary goes: named after the provider, in the layout's bin dir. */
export function providerBinaryPath(layout: Layout, settings: Settings): string {
  return `${layout.binDir}/${settings.providerName}`;
}

/**
 * The provider binary, named after the provider in the layout's bin dir. A bin dir that is not
 * nodecred's own holds the node's binaries too (GKE's /home/kubernetes/bin holds the kubelet
 * itself): a file there that nodecred did not put there is never replaced.
 */
function providerBinaryFile(inputs: NodeInputs): Result<DesiredFile> {
  const { layout, settings, state } = inputs;
  const path = providerBinaryPath(layout, settings);
  const ours = layout.binDir === nodecredPaths.ownedBinDir || findOwned(state, path) !== undefined;
  if (!ours && (inputs.current.get(path) ?? null) !== null) {
    return {
      ok: false,
      problems: [
        problem(
          path,
          `already exists and nodecred did not install it (the node's own binaries share ${layout.binDir}); set data.providerName to another name`,
        ),
      ],
    };
  }
  return {
    ok: true,
    value: { path, role: "provider-binary", mode: 0o755, bytes: inputs.providerBinary },
  };
}

/** The policy file: apply sees only the Secret the DaemonSet mounts, other sets keep the node's. */
function policyFile(inputs: NodeInputs): Result<DesiredFile> {
  const policy = nextPolicy({
    credentials: { ok: true, value: inputs.credentials },
    settings: { ok: true, value: inputs.settings },
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
  return {
    ok: true,
    value: {
      path: nodecredPaths.policyFile,
      role: "credentials",
      mode: 0o600,
      bytes: policy.bytes,
    },
  };
}

/**
 * The provider config: ours in full (the pipeline's canonical text) when nodecred created the file
 * or it does not exist yet; else the node's own, with our entry merged in and the entries of our
 * earlier names taken out, validated as the bytes that will be written.
 */
function providerConfigFile(inputs: NodeInputs, kubelet: KubeletConfig): Result<DesiredFile> {
  const { layout, state, settings } = inputs;
  const path = layout.configPath;
  const current = inputs.current.get(path) ?? null;
  if (layout.wiring.kind === "merge" && current === null) {
    return {
      ok: false,
      problems: [
        problem(
          path,
          `expected the node's existing credential provider config here (flavour ${layout.flavour}); its kubelet flags point at it, and nodecred only adds to it`,
        ),
      ],
    };
  }
  if (current === null || findOwned(state, path)?.origin === "created") {
    return {
      ok: true,
      value: { path, role: "provider-config", mode: 0o644, bytes: encoder.encode(kubelet.text) },
    };
  }
  const theirs = readForeignConfig(current.bytes, path);
  if (!theirs.ok) return theirs;
  if (findOwned(state, path) === undefined && theirs.value.names.includes(settings.providerName)) {
    // First touch of someone else's file: an entry with our name is theirs, not ours.
    return {
      ok: false,
      problems: [
        problem(
          path,
          `already has a provider named ${JSON.stringify(settings.providerName)} that nodecred did not install; set data.providerName to another name`,
        ),
      ],
    };
  }
  // A provider we installed under an earlier name must go: its binary is removed too.
  const names = kubelet.config.providers.map((p) => p.name);
  const bytes = editProviders(theirs.value, {
    remove: (state?.providerNames ?? []).filter((n) => !names.includes(n)),
    put: kubelet.config.providers.map(providerToPlain),
  });
  const problems = checkWrittenConfig(decoder.decode(bytes), path, inputs.kubeletVersion);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { path, role: "provider-config", mode: current.mode & 0o7777, bytes } };
}

/** The kubelet's flags file, on flavours wired by flags; edited as bytes, the rest kept. */
function flagsFile(inputs: NodeInputs): Result<DesiredFile> | null {
  const { layout } = inputs;
  if (layout.wiring.kind !== "flags") return null;
  const { flagsFile: path, variable } = layout.wiring;
  const current = inputs.current.get(path) ?? null;
  const edited = editKubeletFlagsFile(
    current === null ? null : byteString(current.bytes),
    variable,
    { configPath: layout.configPath, binDir: layout.binDir },
    path,
  );
  if (!edited.ok) return edited;
  return {
    ok: true,
    value: {
      path,
      role: "kubelet-flags",
      mode: current === null ? 0o644 : current.mode & 0o7777,
      bytes: bytesOf(edited.value),
    },
  };
}

/** Every directory above the files, parents first; nodecred's own are held to their modes. */
function desiredDirs(files: readonly DesiredFile[]): DesiredDir[] {
  const dirs = new Map<string, DesiredDir>();
  for (const f of files) {
    for (const d of hostPathParents(f.path)) {
      if (dirs.has(d)) continue;
      const owned = d === nodecredPaths.credentialsDir || d.startsWith(`${nodecredPaths.root}/`);
      const mode = d === nodecredPaths.credentialsDir ? 0o700 : 0o755;
      dirs.set(d, { path: d, mode, owned: owned || d === nodecredPaths.root });
    }
  }
  return [...dirs.values()];
}
