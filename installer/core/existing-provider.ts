import { byteString } from "./byte-string.ts";
import type { CurrentFile } from "./desired-state.ts";
import type { Layout } from "./flavour.ts";
import { binDirFlag, configFlag, readProviderFlags } from "./kubelet-flags.ts";

/**
 * A node whose kubelet already has a credential provider (a cloud one, a hand-installed one) is
 * merged into, never displaced: on the flags flavours, nodecred's own flags would come last on
 * the kubelet's command line and win, and that provider would stop working after the restart.
 *
 * This reads every place the layout's kubelet takes flags from, in command-line order, and
 * answers the layout to use: unchanged when no provider flags other than ours are set; the merge
 * wiring (our entry added to their config, our binary in their bin dir, flags untouched) when
 * both flags are set to something else; a refusal when the wiring is half there or when our
 * flags already shadow theirs (an earlier nodecred that replaced them).
 */

/** An environment file the kubelet unit expands on its command line, in ExecStart order. */
export interface FlagSource {
  readonly path: string;
  readonly variable: string;
}

export const kubeadmFlagsFile: FlagSource = {
  path: "/var/lib/kubelet/kubeadm-flags.env",
  variable: "KUBELET_KUBEADM_ARGS",
};

/** Where the kubelet of this layout takes flags from, first to last (last wins). */
export function flagSources(layout: Layout): readonly FlagSource[] {
  if (layout.wiring.kind !== "flags") return [];
  return [kubeadmFlagsFile, { path: layout.wiring.flagsFile, variable: layout.wiring.variable }];
}

export type WiringDecision =
  | { readonly kind: "ours"; readonly layout: Layout }
  | { readonly kind: "merge"; readonly layout: Layout; readonly why: string }
  | { readonly kind: "refuse"; readonly why: string };

interface Found {
  readonly source: FlagSource;
  readonly configPath: string | null;
  readonly binDir: string | null;
}

const isCleanAbsolute = (p: string): boolean =>
  p.startsWith("/") &&
  !p.endsWith("/") &&
  !p.includes("//") &&
  !p.includes("\0") &&
  !p.split("/").some((c) => c === ".." || c === ".");

export function decideWiring(
  layout: Layout,
  current: ReadonlyMap<string, CurrentFile | null>,
): WiringDecision {
  const found: Found[] = [];
  for (const source of flagSources(layout)) {
    const file = current.get(source.path) ?? null;
    if (file === null) continue;
    const flags = readProviderFlags(byteString(file.bytes), source.variable);
    if (flags.configPath !== null || flags.binDir !== null) found.push({ source, ...flags });
  }
  // Per flag: a value equal to ours is a copy of ours (an earlier apply), anything else theirs.
  const theirsIn = (f: Found): Found => ({
    source: f.source,
    configPath: f.configPath === layout.configPath ? null : f.configPath,
    binDir: f.binDir === layout.binDir ? null : f.binDir,
  });
  const foreign = found.map(theirsIn).filter((f) => f.configPath !== null || f.binDir !== null);
  if (foreign.length === 0) return { kind: "ours", layout };
  const theirs = foreign[foreign.length - 1] as Found;
  const where = `${theirs.source.path} (${theirs.source.variable})`;
  const ours = found.find((f) => f.configPath === layout.configPath || f.binDir === layout.binDir);
  if (ours !== undefined) {
    return {
      kind: "refuse",
      why: `nodecred's provider flags in ${ours.source.path} would override the node's own in ${where} (as an earlier nodecred version left them); run uninstall, then apply again so that nodecred adds itself to that provider config instead`,
    };
  }
  if (theirs.configPath === null || theirs.binDir === null) {
    const missing = theirs.configPath === null ? configFlag : binDirFlag;
    return {
      kind: "refuse",
      why: `the kubelet's flags in ${where} set one credential provider flag but not ${missing}; nodecred will not guess the other one. Set both, or neither`,
    };
  }
  const binDir = theirs.binDir.length > 1 ? theirs.binDir.replace(/\/+$/, "") : theirs.binDir;
  if (!isCleanAbsolute(theirs.configPath) || !isCleanAbsolute(binDir)) {
    return {
      kind: "refuse",
      why: `the kubelet's credential provider flags in ${where} are not clean absolute paths (${theirs.configPath}, ${theirs.binDir})`,
    };
  }
  return {
    kind: "merge",
    layout: {
      ...layout,
      wiring: { kind: "merge" },
      configPath: theirs.configPath,
      binDir,
    },
    why: `this node's kubelet already has a credential provider (${configFlag}=${theirs.configPath} in ${where}): nodecred adds its entry to that config and its binary to ${theirs.binDir}, and leaves the flags as they are`,
  };
}
