import { parseGoDuration } from "../../../provider/core/duration.ts";
import {
  credentialSetsKey,
  parseCredentialSets,
  type CredentialSetSpec,
} from "./credential-sets.ts";
import { envelopeFor, envelopeSize } from "../kubelet/envelope.ts";
import { flavourNames, isRefusal, layoutFor, nodecredPaths } from "../node/flavour.ts";
import {
  hasLoneSurrogate,
  invalidMatchImage,
  matchImageLimitError,
  utf8ByteLength,
} from "./match-image.ts";
import { boundProblems, preview, problem, type Problem, type Result } from "../problems.ts";
import { backupPathFor } from "../node/state.ts";
import { isRecord, parseStrictYaml } from "../strict-yaml.ts";

/**
 * The user's settings, from the ConfigMap's `data` (see installer/README.md "ConfigMap").
 * ConfigMap values are strings, so lists are one entry per line.
 */
export interface Settings {
  readonly providerName: string;
  readonly matchImages: readonly string[];
  /**
   * `live`: the kubelet registers a fixed envelope of patterns and the provider applies
   * matchImages from the node's policy file, so edits inside the envelope need no restart.
   * `kubelet`: the kubelet registers matchImages itself (every edit restarts the kubelets).
   */
  readonly matching: Matching;
  readonly defaultCacheDuration: string;
  /** Handlebars source replacing the built-in CredentialProviderConfig template. */
  readonly template: string | null;
  /**
   * Scoped credentials (credential-sets.ts), in the order the provider tries them, the default
   * set included; null: unscoped, every pod on a node may use the Secret's credentials.
   */
  readonly credentialSets: readonly CredentialSetSpec[] | null;
}

export const matchingModes = ["live", "kubelet"] as const;
export type Matching = (typeof matchingModes)[number];

export const settingsKeys = {
  matchImages: "matchImages",
  matching: "matching",
  defaultCacheDuration: "defaultCacheDuration",
  providerName: "providerName",
  template: "credentialProviderConfigTemplate",
  credentialSets: credentialSetsKey,
} as const;

export const defaultSettings = {
  providerName: "nodecred",
  matching: "live",
  // Not cached: the provider costs about 2 ms per exec, and a cached answer is what keeps an old
  // password or a removed pattern in use after a change.
  defaultCacheDuration: "0s",
} as const;

/**
 * Bounds on what nodecred accepts from the ConfigMap, each refused with its path like any other
 * problem, so that validating the largest accepted ConfigMap stays well under a second (see
 * scripts/bench-limits) and no message repeats a huge value.
 */
export const configMapLimits = {
  /**
   * The API server's own bound (ValidateConfigMap: the values' bytes, data and binaryData, may
   * not exceed core.MaxSecretSize, 1 MiB): checked again because `apply` also reads manifest files.
   */
  dataBytes: 1024 * 1024,
  /**
   * credentialProviderConfigTemplate: the built-in template is about 500 bytes; a config with one
   * provider needs no more than a few kB of template even with every optional field.
   */
  templateBytes: 64 * 1024,
  /**
   * matchImages entries, and the most patterns the kubelet registers for nodecred in either mode
   * (the envelope in `live`): the kubelet and, in `live`, the provider try every pattern on every
   * pull. Real clusters list a handful of registries; 1,000 is far above that and keeps both
   * lists small.
   */
  matchImages: 1000,
  /**
   * A ConfigMap manifest file (apply --configmap): the data's 1 MiB, even with every byte escaped
   * as `\uXXXX` (6 bytes), plus metadata. Checked before the YAML is parsed.
   */
  manifestBytes: 8 * 1024 * 1024,
} as const;

/**
 * Names nodecred makes from providerName, which the kernel must accept too (NAME_MAX, 255 bytes):
 * the binary itself, its temp file (host/atomic-write.ts: `.NAME.nodecred-tmp-PID-8HEX`, PID at
 * most 7 digits: pid_max is at most 2^22), the backup of a binary someone else left at that name
 * (state.ts backupPathFor) and the backup's temp file.
 */
const nameMax = 255;
export const tempMarker = ".nodecred-tmp-";
const tempExtraBytes = 1 + tempMarker.length + 7 + 1 + 8;
const binDirs = flavourNames.flatMap((f) => {
  const l = layoutFor(f);
  return isRefusal(l) ? [] : [l.binDir];
});

function backupName(binDir: string, name: string): string {
  const path = backupPathFor(nodecredPaths.backupDir, `${binDir}/${name}`);
  return path.slice(path.lastIndexOf("/") + 1);
}

/** The longest file name nodecred would make from a provider name, in bytes, and what it is. */
function longestDerivedName(name: string): { bytes: number; what: string } {
  let longest = { bytes: utf8ByteLength(name) + tempExtraBytes, what: "its temp file" };
  for (const dir of binDirs) {
    const bytes = backupName(dir, name).length + tempExtraBytes; // %-encoded: ASCII
    if (bytes > longest.bytes) {
      longest = { bytes, what: `the temp file of a backup of ${dir}/<name>` };
    }
  }
  return longest;
}

/** The longest provider name of plain ASCII (letters, digits, `-`, `_`, `.`) every flavour takes. */
export const maxProviderNameChars = ((): number => {
  let n = 1;
  while (longestDerivedName("n".repeat(n + 1)).bytes <= nameMax) n++;
  return n;
})();

/**
 * Why a provider name cannot be used, or nothing. A superset of the kubelet's rules (config.go
 * validateCredentialProviderConfig: not empty, no '/', no space, not '.' or '..'; the binary must
 * exist in the bin dir under that name): no whitespace or control characters, nothing the kernel
 * refuses in a file name, including in the names nodecred derives from it, and nothing that could
 * be taken for one of nodecred's temp files (which start with '.' and are swept as stale).
 */
export function providerNameProblems(name: string): string[] {
  const out: string[] = [];
  if (name === "") return ["must not be empty"];
  if (name.includes("/")) out.push("must not contain '/' (it is a file name in the bin dir)");
  if (/\s/.test(name)) out.push("must not contain whitespace (the kubelet refuses spaces)");
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) out.push("must not contain control characters (NUL included)");
  if (name.startsWith(".")) {
    out.push(
      "must not start with '.': nodecred's temp files in the bin dir do (and the kubelet refuses '.' and '..')",
    );
  }
  if (name.includes(tempMarker)) {
    out.push(`must not contain ${JSON.stringify(tempMarker)}, the mark of nodecred's temp files`);
  }
  if (hasLoneSurrogate(name)) out.push("must be valid Unicode (no lone surrogate)");
  else {
    const longest = longestDerivedName(name);
    if (longest.bytes > nameMax) {
      out.push(
        `is ${String(utf8ByteLength(name))} bytes long: ${longest.what} would be named with ${String(longest.bytes)} bytes, and Linux allows ${String(nameMax)}; at most ${String(maxProviderNameChars)} ASCII characters`,
      );
    }
  }
  return out;
}

/** One entry per line; blank lines and `#` comments ignored, surrounding blanks trimmed. */
function lines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** `data` over configMapLimits.dataBytes: one problem naming the largest keys. */
function dataTooLarge(data: Readonly<Record<string, unknown>>): Problem | null {
  const limit = configMapLimits.dataBytes;
  const sizes: [string, number][] = [];
  let total = 0;
  for (const [key, v] of Object.entries(data)) {
    if (typeof v !== "string") continue;
    // Past the limit the exact total does not matter: counting stops there.
    const bytes = utf8ByteLength(v, limit);
    sizes.push([key, bytes]);
    total += bytes;
    if (total > limit) break;
  }
  if (total <= limit) return null;
  const largest = sizes
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k, b]) => `${preview(k, 64)} ${b > limit ? `over ${String(limit)}` : String(b)} bytes`)
    .join(", ");
  return problem(
    "data",
    `the values total more than ${String(limit)} bytes (${largest}); the API server accepts at most 1 MiB per ConfigMap`,
  );
}

/** A ConfigMap value by key: a string, null when absent (a non-string is a problem). */
type Read = (key: string) => string | null;

/** Checks a ConfigMap's `data` map (values must be strings) and returns the settings. */
export function parseSettings(data: Readonly<Record<string, unknown>>): Result<Settings> {
  // Over the API server's limit nothing else is looked at: bounded work for any input.
  const tooLarge = dataTooLarge(data);
  if (tooLarge !== null) return { ok: false, problems: [tooLarge] };
  const problems: Problem[] = unknownKeys(data);
  const read: Read = (key) => {
    const v = data[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== "string") {
      problems.push(problem(`data.${key}`, "must be a string (ConfigMap values are strings)"));
      return null;
    }
    return v;
  };
  const providerName = parseProviderName(read, problems);
  const matching = parseMatching(read, problems);
  const matchImages = parseMatchImages(read, matching, problems);
  const defaultCacheDuration = parseCacheDuration(read, problems);
  const template = parseTemplate(read, problems);
  const credentialSets = parseSets(read, problems);
  if (problems.length > 0 || matching === undefined) {
    return { ok: false, problems: boundProblems(problems) };
  }
  return {
    ok: true,
    value: { providerName, matchImages, matching, defaultCacheDuration, template, credentialSets },
  };
}

function unknownKeys(data: Readonly<Record<string, unknown>>): Problem[] {
  const known: readonly string[] = Object.values(settingsKeys);
  return Object.keys(data)
    .filter((key) => !known.includes(key))
    .map((key) =>
      problem(
        `data.${key.length > 64 ? preview(key, 64) : key}`,
        `unknown key; known keys: ${[...known].sort().join(", ")}`,
      ),
    );
}

function parseProviderName(read: Read, problems: Problem[]): string {
  const name = (read(settingsKeys.providerName) ?? defaultSettings.providerName).trim();
  // The name is also the binary's file name in the kubelet's bin dir.
  for (const message of providerNameProblems(name)) {
    problems.push(problem(`data.${settingsKeys.providerName}`, message));
  }
  return name;
}

function parseMatching(read: Read, problems: Problem[]): Matching | undefined {
  const text = (read(settingsKeys.matching) ?? defaultSettings.matching).trim();
  const matching = matchingModes.find((m) => m === text);
  if (matching === undefined) {
    problems.push(
      problem(
        `data.${settingsKeys.matching}`,
        `must be one of ${matchingModes.join(", ")}, got ${preview(text)}`,
      ),
    );
  }
  return matching;
}

/**
 * One pattern per line, each held to the kubelet's rule (invalidMatchImage, the kubelet's own
 * message) and to nodecred's bounds (matchImageLimitError); in `live`, the envelope they make
 * must stay within what nodecred registers.
 */
function parseMatchImages(
  read: Read,
  matching: Matching | undefined,
  problems: Problem[],
): string[] {
  const raw = read(settingsKeys.matchImages);
  const matchImages = raw === null ? [] : lines(raw);
  const path = `data.${settingsKeys.matchImages}`;
  const limit = configMapLimits.matchImages;
  if (matchImages.length === 0) {
    problems.push(problem(path, "Required value: at least one image pattern, one per line"));
    return matchImages;
  }
  if (matchImages.length > limit) {
    problems.push(
      problem(path, `${String(matchImages.length)} patterns; at most ${String(limit)}`),
    );
    return matchImages;
  }
  const refused = matchImages.flatMap((m, i) => {
    const beyond = matchImageLimitError(m);
    // A long entry is quoted by a prefix only (matchImageLimitError's own preview).
    const why =
      beyond === null
        ? invalidMatchImage(m)
        : m.length > 200
          ? beyond
          : `${JSON.stringify(m)}: ${beyond}`;
    return why === null ? [] : [problem(`${path}[${String(i)}]`, why)];
  });
  problems.push(...refused);
  if (refused.length > 0 || matching !== "live") return matchImages;
  const envelope = envelopeFor(matchImages);
  const size = envelopeSize(envelope);
  if (size > limit) {
    problems.push(
      problem(
        path,
        `with matching: live the kubelet would register ${String(size)} patterns for these (${String(envelope.ports.length)} ports, counting none, × ${String(envelope.segments)} dot-segments); at most ${String(limit)}: use fewer distinct ports or shorter hosts, or matching: kubelet`,
      ),
    );
  }
  return matchImages;
}

function parseCacheDuration(read: Read, problems: Problem[]): string {
  const text = (
    read(settingsKeys.defaultCacheDuration) ?? defaultSettings.defaultCacheDuration
  ).trim();
  const duration = parseGoDuration(text);
  const path = `data.${settingsKeys.defaultCacheDuration}`;
  if (!duration.ok) {
    problems.push(
      problem(path, text.length > 40 ? `time: invalid duration ${preview(text)}` : duration.error),
    );
  } else if (duration.nanos < 0n) {
    problems.push(problem(path, "must be greater than or equal to 0"));
  }
  return text;
}

function parseTemplate(read: Read, problems: Problem[]): string | null {
  const template = read(settingsKeys.template);
  if (template === null) return null;
  const bytes = utf8ByteLength(template, configMapLimits.templateBytes);
  if (bytes > configMapLimits.templateBytes) {
    problems.push(
      problem(
        `data.${settingsKeys.template}`,
        `longer than ${String(configMapLimits.templateBytes)} bytes (the built-in template has about 500)`,
      ),
    );
  }
  return template;
}

function parseSets(read: Read, problems: Problem[]): readonly CredentialSetSpec[] | null {
  const text = read(settingsKeys.credentialSets);
  if (text === null) return null;
  const sets = parseCredentialSets(text, `data.${settingsKeys.credentialSets}`);
  if (sets.ok) return sets.value;
  problems.push(...sets.problems);
  return null;
}

/** Reads a ConfigMap manifest (YAML or JSON) and returns its settings. */
export function settingsFromConfigMapText(text: string): Result<Settings> {
  if (text.length > configMapLimits.manifestBytes) {
    return {
      ok: false,
      problems: [
        problem(
          "configmap",
          `the manifest is ${String(text.length)} characters long; a ConfigMap the API server accepts fits in ${String(configMapLimits.manifestBytes)}`,
        ),
      ],
    };
  }
  const parsed = parseStrictYaml(text, "configmap");
  if (!parsed.ok) return parsed;
  const cm = parsed.value;
  if (!isRecord(cm)) return { ok: false, problems: [problem("configmap", "not a mapping")] };
  if (cm["kind"] !== "ConfigMap") {
    return {
      ok: false,
      problems: [problem("kind", `expected ConfigMap, got ${JSON.stringify(cm["kind"])}`)],
    };
  }
  const data = cm["data"] ?? {};
  if (!isRecord(data)) return { ok: false, problems: [problem("data", "must be a mapping")] };
  return parseSettings(data);
}
