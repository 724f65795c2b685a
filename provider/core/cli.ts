// Command-line parsing, pure: argv in, a typed command or every problem out.

import { formatGoDuration, parseGoDuration } from "./duration.ts";
import { DEFAULT_POLICY_PATH } from "./policy.ts";
import { isNamespaceName, SELECT_ANNOTATION } from "./scopes.ts";

export const DEFAULT_CACHE_DURATION_NS = 0n; // not cached: the kubelet asks on every pull

/** What the provider reads its answers from. */
export type Source =
  /** A nodecred policy file: live matchImages + credentials (what the installer writes). */
  | { readonly kind: "policy"; readonly path: string }
  /** A plain Docker config ({"auths": ...}): every image the kubelet sends us is answered. */
  | { readonly kind: "credentials"; readonly path: string };

export interface CheckCommand {
  readonly kind: "check";
  readonly source: Source;
  readonly image: string | null;
  /** --namespace: the pod's namespace for the decision on --image; null: no token. */
  readonly namespace: string | null;
  /** --selected: the set the pod's ServiceAccount selects; null: none. */
  readonly selected: string | null;
}

export type Command =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | CheckCommand
  | { readonly kind: "provide"; readonly source: Source; readonly cacheDurationNs: bigint };

export type CliResult =
  | { readonly ok: true; readonly command: Command }
  | { readonly ok: false; readonly problems: readonly string[] };

export const USAGE = `Usage: nodecred-provider [--policy PATH | --credentials PATH] [--cache-duration DURATION]
       nodecred-provider --check [--policy PATH | --credentials PATH]
                         [--image IMAGE [--namespace NS] [--selected SET]]
       nodecred-provider --version | --help

A kubelet image credential provider. Reads one CredentialProviderRequest on stdin and writes
the CredentialProviderResponse holding every credential whose registry key matches the image,
by the kubelet's own rules.

  --policy PATH             nodecred policy file (default ${DEFAULT_POLICY_PATH}): the live
                            matchImages and the credentials; an image no pattern matches gets an
                            empty, uncached answer
  --credentials PATH        a Docker config JSON ({"auths": {...}}) instead: every image the
                            kubelet sends is answered from it (matching left to the kubelet)
  --cache-duration DURATION how long the kubelet may cache an answer with credentials, Go syntax
                            (default ${formatGoDuration(DEFAULT_CACHE_DURATION_NS)}: not cached)
  --check                   validate the file, list its rules, credential sets and credential
                            keys (never a secret) and exit (0 valid, 1 problems)
  --image IMAGE             with --check: which rule matches IMAGE and which keys answer it
  --namespace NS            with --check --image and a scoped policy: the answer for a pod in
                            namespace NS (without it: a pod without a service account token)
  --selected SET            with --check --image and a scoped policy: the answer for a pod whose
                            ServiceAccount is annotated ${SELECT_ANNOTATION}: SET
  --version                 print the version
  --help                    print this help
`;

const VALUE_FLAGS = [
  "--policy",
  "--credentials",
  "--cache-duration",
  "--image",
  "--namespace",
  "--selected",
] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];
const BOOL_FLAGS = ["--check", "--version", "--help"] as const;
type BoolFlag = (typeof BOOL_FLAGS)[number];

function isValueFlag(s: string): s is ValueFlag {
  return VALUE_FLAGS.some((f) => f === s);
}
function isBoolFlag(s: string): s is BoolFlag {
  return BOOL_FLAGS.some((f) => f === s);
}

function source(
  values: Partial<Record<ValueFlag, string>>,
  problems: string[],
): Source | undefined {
  const policy = values["--policy"];
  const credentials = values["--credentials"];
  if (policy !== undefined && credentials !== undefined) {
    problems.push("give --policy or --credentials, not both");
    return undefined;
  }
  if (credentials !== undefined) {
    if (credentials === "") problems.push("--credentials must not be empty");
    return { kind: "credentials", path: credentials };
  }
  if (policy === "") problems.push("--policy must not be empty");
  return { kind: "policy", path: policy ?? DEFAULT_POLICY_PATH };
}

/** Accepts "--flag value" and "--flag=value"; each flag at most once. */
export function parseArgs(argv: readonly string[]): CliResult {
  const { values, bools, problems } = scanFlags(argv);
  if (bools["--help"] === true) return { ok: true, command: { kind: "help" } };
  if (bools["--version"] === true) return { ok: true, command: { kind: "version" } };

  const from = source(values, problems);
  const check = bools["--check"] === true;
  const cacheDurationNs = cacheDuration(values["--cache-duration"], check, problems);
  const image = values["--image"];
  if (image !== undefined && !check) problems.push("--image is only for --check");
  if (image === "") problems.push("--image must not be empty");
  const namespace = values["--namespace"];
  const selected = values["--selected"];
  checkPodFlags(namespace, selected, check && image !== undefined, from, problems);
  if (problems.length > 0 || from === undefined) return { ok: false, problems };
  if (check) {
    return {
      ok: true,
      command: {
        kind: "check",
        source: from,
        image: image ?? null,
        namespace: namespace ?? null,
        selected: selected ?? null,
      },
    };
  }
  return { ok: true, command: { kind: "provide", source: from, cacheDurationNs } };
}

/** argv flag by flag: each value and switch, and each flag that is unknown, repeated or bare. */
function scanFlags(argv: readonly string[]): {
  values: Partial<Record<ValueFlag, string>>;
  bools: Partial<Record<BoolFlag, true>>;
  problems: string[];
} {
  const problems: string[] = [];
  const values: Partial<Record<ValueFlag, string>> = {};
  const bools: Partial<Record<BoolFlag, true>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    if (isValueFlag(name)) {
      let value: string | undefined;
      if (name !== arg) value = arg.slice(eq + 1);
      else if (i + 1 < argv.length) value = argv[++i];
      if (value === undefined) problems.push(`${name} needs a value`);
      else if (values[name] !== undefined) problems.push(`${name} is given more than once`);
      else values[name] = value;
    } else if (isBoolFlag(arg)) {
      if (bools[arg] === true) problems.push(`${arg} is given more than once`);
      bools[arg] = true;
    } else if (isBoolFlag(name)) {
      problems.push(`${name} takes no value`);
    } else {
      problems.push(`unexpected argument ${JSON.stringify(arg)}`);
    }
  }
  return { values, bools, problems };
}

/** --cache-duration: a Go duration the kubelet would accept, not negative; not with --check. */
function cacheDuration(duration: string | undefined, check: boolean, problems: string[]): bigint {
  if (duration === undefined) return DEFAULT_CACHE_DURATION_NS;
  let cacheDurationNs = DEFAULT_CACHE_DURATION_NS;
  // Any duration the kubelet accepts as defaultCacheDuration is accepted here too: the
  // installer passes that value on as --cache-duration.
  const parsed = parseGoDuration(duration);
  if (!parsed.ok || parsed.nanos < 0n) {
    problems.push(
      `--cache-duration ${JSON.stringify(duration)} is not a non-negative Go duration (e.g. 5m, 1h30m, 0s)`,
    );
  } else {
    cacheDurationNs = parsed.nanos;
  }
  if (check) problems.push("--cache-duration has no meaning with --check");
  return cacheDurationNs;
}

/**
 * --namespace and --selected describe the pod of a --check --image against a policy file's
 * credential sets: only there, and each well-formed.
 */
function checkPodFlags(
  namespace: string | undefined,
  selected: string | undefined,
  checkImage: boolean,
  from: Source | undefined,
  problems: string[],
): void {
  for (const [flag, value] of [
    ["--namespace", namespace],
    ["--selected", selected],
  ] as const) {
    if (value === undefined) continue;
    if (!checkImage) problems.push(`${flag} is only for --check --image`);
    else if (from?.kind === "credentials") {
      problems.push(`${flag} needs a policy file (a Docker config has no credential sets)`);
    }
  }
  if (namespace !== undefined && !isNamespaceName(namespace)) {
    problems.push(
      `--namespace ${JSON.stringify(namespace)} is not a namespace name (a DNS-1123 label: at most 63 of a-z, 0-9, "-")`,
    );
  }
  if (selected === "") problems.push("--selected must not be empty");
}
