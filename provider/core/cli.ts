// Command-line parsing, pure: argv in, a typed command or every problem out.

import { formatGoDuration, parseGoDuration } from "./duration.ts";

export const DEFAULT_CACHE_DURATION_NS = 300_000_000_000n; // 5m

export type Command =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "check"; readonly credentialsPath: string }
  | {
      readonly kind: "provide";
      readonly credentialsPath: string;
      readonly cacheDurationNs: bigint;
    };

export type CliResult =
  | { readonly ok: true; readonly command: Command }
  | { readonly ok: false; readonly problems: readonly string[] };

export const USAGE = `Usage: nodecred-provider --credentials PATH [--cache-duration DURATION]
       nodecred-provider --check --credentials PATH
       nodecred-provider --version | --help

A kubelet image credential provider. Reads one CredentialProviderRequest on stdin and writes
the CredentialProviderResponse holding every credential of the Docker config file PATH
({"auths": {...}}) whose registry key matches the image, by the kubelet's own rules.

  --credentials PATH        Docker config JSON with the credentials (required)
  --cache-duration DURATION how long the kubelet may cache an answer, Go syntax (default ${formatGoDuration(DEFAULT_CACHE_DURATION_NS)})
  --check                   validate the credentials file and exit (0 valid, 1 problems)
  --version                 print the version
  --help                    print this help
`;

const VALUE_FLAGS = ["--credentials", "--cache-duration"] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];
const BOOL_FLAGS = ["--check", "--version", "--help"] as const;
type BoolFlag = (typeof BOOL_FLAGS)[number];

function isValueFlag(s: string): s is ValueFlag {
  return VALUE_FLAGS.some((f) => f === s);
}
function isBoolFlag(s: string): s is BoolFlag {
  return BOOL_FLAGS.some((f) => f === s);
}

/** Accepts "--flag value" and "--flag=value"; each flag at most once. */
export function parseArgs(argv: readonly string[]): CliResult {
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
  if (bools["--help"] === true) return { ok: true, command: { kind: "help" } };
  if (bools["--version"] === true) return { ok: true, command: { kind: "version" } };

  const credentialsPath = values["--credentials"];
  if (credentialsPath === undefined) problems.push("--credentials PATH is required");
  else if (credentialsPath === "") problems.push("--credentials must not be empty");
  let cacheDurationNs = DEFAULT_CACHE_DURATION_NS;
  const duration = values["--cache-duration"];
  if (duration !== undefined) {
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
  }
  if (bools["--check"] === true && duration !== undefined) {
    problems.push("--cache-duration has no meaning with --check");
  }
  if (problems.length > 0 || credentialsPath === undefined) return { ok: false, problems };
  if (bools["--check"] === true) return { ok: true, command: { kind: "check", credentialsPath } };
  return { ok: true, command: { kind: "provide", credentialsPath, cacheDurationNs } };
}
