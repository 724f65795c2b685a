import { byteString } from "./byte-string.ts";
import type { CurrentFile } from "../plan/desired-state.ts";
import type { Layout } from "./flavour.ts";
import { isCleanHostPath } from "./host-path.ts";
import { binDirFlag, configFlag, providerFlagsIn, readProviderFlags } from "./kubelet-flags.ts";
import { asText, loadEnvironmentFile, splitWords } from "./systemd-env-file.ts";
import { commandLineSources, type EffectiveService } from "./systemd-unit.ts";

/**
 * A node whose kubelet already has a credential provider (a cloud one, a hand-installed one) is
 * merged into, never displaced: on the flags flavours, nodecred's own flags would come last on
 * the kubelet's command line and win, and that provider would stop working after the restart.
 *
 * This reads every place the layout's kubelet takes flags from, in command-line order, and
 * answers the layout to use: unchanged when no provider flags other than ours are set; the merge
 * wiring (our entry added to their config, our binary in their bin dir, flags untouched) when
 * both flags are set to something else; a refusal when the wiring is half there, when our flags
 * already shadow theirs (an earlier nodecred that replaced them), or when the kubelet's unit
 * would never see the flags we write.
 *
 * The places: when the kubelet's systemd unit is readable (kubelet.service and its drop-ins,
 * systemd-unit.ts), its ExecStart= line as systemd expands it: words written on the line,
 * `Environment=` values and `EnvironmentFile=` files (which win over Environment=, the last file
 * last). Otherwise kubeadm's two files, in the order of kubeadm's ExecStart line.
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

/** kubeadm's files, first to last (last wins): when the kubelet's unit cannot be read. */
export function flagSources(layout: Layout): readonly FlagSource[] {
  if (layout.wiring.kind !== "flags") return [];
  return [kubeadmFlagsFile, { path: layout.wiring.flagsFile, variable: layout.wiring.variable }];
}

/** The provider flags one place on the kubelet's command line sets (last occurrence each). */
export interface ProviderFlagsAt {
  /** For messages: `/etc/sysconfig/kubelet (KUBELET_EXTRA_ARGS)`, `ExecStart= of …`. */
  readonly where: string;
  readonly configPath: string | null;
  readonly binDir: string | null;
}

/** What the kubelet's command line holds, place by place, in order. */
export interface KubeletCommandLine {
  readonly places: readonly ProviderFlagsAt[];
  /** Why the flags nodecred writes would never reach the kubelet; null when they do. */
  readonly unreachable: string | null;
}

/** From kubeadm's two files (the unit could not be read): the layout's own wiring assumed. */
export function commandLineFromFiles(
  layout: Layout,
  current: ReadonlyMap<string, CurrentFile | null>,
): KubeletCommandLine {
  const places: ProviderFlagsAt[] = [];
  for (const source of flagSources(layout)) {
    const file = current.get(source.path) ?? null;
    if (file === null) continue;
    const flags = readProviderFlags(byteString(file.bytes), source.variable);
    places.push({ where: `${source.path} (${source.variable})`, ...flags });
  }
  return { places, unreachable: null };
}

/**
 * From the kubelet's unit as systemd builds it, and the environment files it names (current
 * content; null: absent). `unitName` is for messages.
 */
export function commandLineFromUnit(
  layout: Layout,
  unitName: string,
  service: EffectiveService,
  envFiles: ReadonlyMap<string, CurrentFile | null>,
): KubeletCommandLine {
  const sources = commandLineSources(service);
  if (sources === null) {
    return { places: [], unreachable: `${unitName} has no ExecStart= command` };
  }
  // Each variable's value and where it came from: Environment=, then the files in order.
  const values = new Map<string, { value: string; from: string }>();
  for (const [name, value] of sources.environment) {
    values.set(name, { value, from: `Environment= of ${unitName}` });
  }
  for (const ref of sources.environmentFiles) {
    const file = envFiles.get(ref.path) ?? null;
    if (file === null) continue;
    const loaded = loadEnvironmentFile(byteString(file.bytes));
    if (!loaded.ok) continue; // systemd would not start the unit with it; not ours to judge here
    for (const [name, value] of loaded.env)
      values.set(name, { value: asText(value), from: ref.path });
  }
  const places: ProviderFlagsAt[] = [];
  const literal: string[] = [];
  const flushLiteral = (): void => {
    if (literal.length === 0) return;
    places.push({ where: `the ExecStart= line of ${unitName}`, ...providerFlagsIn(literal) });
    literal.length = 0;
  };
  for (const w of sources.words) {
    if (w.kind === "literal") literal.push(w.text);
    else if (w.kind === "joined") {
      literal.push(
        w.parts
          .map((p) => (typeof p === "string" ? p : (values.get(p.variable)?.value ?? "")))
          .join(""),
      );
    } else {
      flushLiteral();
      const v = values.get(w.variable);
      if (v === undefined) continue;
      const words = splitWords(v.value).map((x) => x.text);
      places.push({ where: `${v.from} (${w.variable})`, ...providerFlagsIn(words) });
    }
  }
  flushLiteral();
  return { places, unreachable: ourFlagsUnreachable(layout, unitName, sources, values) };
}

/**
 * Our flags reach the kubelet when its command line expands `$VARIABLE` as words, the unit reads
 * our flags file, and no file read after it sets the variable again.
 */
function ourFlagsUnreachable(
  layout: Layout,
  unitName: string,
  sources: NonNullable<ReturnType<typeof commandLineSources>>,
  values: ReadonlyMap<string, { readonly from: string }>,
): string | null {
  if (layout.wiring.kind !== "flags") return null;
  const { flagsFile, variable } = layout.wiring;
  if (!sources.words.some((w) => w.kind === "split" && w.variable === variable)) {
    return `${unitName}'s ExecStart= does not pass $${variable} to the kubelet, so the flags nodecred would write to ${flagsFile} would have no effect`;
  }
  const at = sources.environmentFiles.findIndex((f) => f.path === flagsFile);
  if (at === -1) {
    return `${unitName} does not read ${flagsFile} (no EnvironmentFile= for it), so the flags nodecred would write there would have no effect`;
  }
  // The variable's last setter (from the values built above): a file read after ours wins.
  const setter = values.get(variable)?.from;
  if (
    setter !== undefined &&
    sources.environmentFiles.slice(at + 1).some((f) => f.path === setter)
  ) {
    return `${setter}, read after ${flagsFile}, sets ${variable} again, so the flags nodecred would write to ${flagsFile} would have no effect`;
  }
  return null;
}

export type WiringDecision =
  | { readonly kind: "ours"; readonly layout: Layout }
  | { readonly kind: "merge"; readonly layout: Layout; readonly why: string }
  | { readonly kind: "refuse"; readonly why: string };

export function decideWiring(layout: Layout, commandLine: KubeletCommandLine): WiringDecision {
  const found = commandLine.places.filter((f) => f.configPath !== null || f.binDir !== null);
  // Per flag: a value equal to ours is a copy of ours (an earlier apply), anything else theirs.
  const theirsIn = (f: ProviderFlagsAt): ProviderFlagsAt => ({
    where: f.where,
    configPath: f.configPath === layout.configPath ? null : f.configPath,
    binDir: f.binDir === layout.binDir ? null : f.binDir,
  });
  const foreign = found.map(theirsIn).filter((f) => f.configPath !== null || f.binDir !== null);
  if (foreign.length === 0) {
    if (commandLine.unreachable !== null) return { kind: "refuse", why: commandLine.unreachable };
    return { kind: "ours", layout };
  }
  const theirs = foreign[foreign.length - 1] as ProviderFlagsAt;
  const where = theirs.where;
  const ours = found.find((f) => f.configPath === layout.configPath || f.binDir === layout.binDir);
  if (ours !== undefined) {
    return {
      kind: "refuse",
      why: `nodecred's provider flags in ${ours.where} would override the node's own in ${where} (as an earlier nodecred version left them); run uninstall, then apply again so that nodecred adds itself to that provider config instead`,
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
  if (!isCleanHostPath(theirs.configPath) || !isCleanHostPath(binDir)) {
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
