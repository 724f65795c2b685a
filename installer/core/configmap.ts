import { parseGoDuration } from "../../provider/core/duration.ts";
import { matchImageError } from "./match-image.ts";
import { problem, type Problem, type Result } from "./problems.ts";
import { isRecord, parseStrictYaml } from "./strict-yaml.ts";

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
}

export const matchingModes = ["live", "kubelet"] as const;
export type Matching = (typeof matchingModes)[number];

export const settingsKeys = {
  matchImages: "matchImages",
  matching: "matching",
  defaultCacheDuration: "defaultCacheDuration",
  providerName: "providerName",
  template: "credentialProviderConfigTemplate",
} as const;

export const defaultSettings = {
  providerName: "nodecred",
  matching: "live",
  // Not cached: the provider costs about 2 ms per exec, and a cached answer is what keeps an old
  // password or a removed pattern in use after a change.
  defaultCacheDuration: "0s",
} as const;

/** One entry per line; blank lines and `#` comments ignored, surrounding blanks trimmed. */
function lines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** Checks a ConfigMap's `data` map (values must be strings) and returns the settings. */
export function parseSettings(data: Readonly<Record<string, unknown>>): Result<Settings> {
  const problems: Problem[] = [];
  const known: readonly string[] = Object.values(settingsKeys);
  for (const key of Object.keys(data)) {
    if (!known.includes(key)) {
      problems.push(
        problem(`data.${key}`, `unknown key; known keys: ${[...known].sort().join(", ")}`),
      );
    }
  }
  const str = (key: string): string | null => {
    const v = data[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== "string") {
      problems.push(problem(`data.${key}`, "must be a string (ConfigMap values are strings)"));
      return null;
    }
    return v;
  };

  const providerName = (str(settingsKeys.providerName) ?? defaultSettings.providerName).trim();
  const namePath = `data.${settingsKeys.providerName}`;
  // The name is also the binary's file name in the kubelet's bin dir.
  if (providerName === "") problems.push(problem(namePath, "must not be empty"));
  if (/[/\s\0]/.test(providerName)) {
    problems.push(problem(namePath, "must not contain '/', whitespace or NUL"));
  }
  if (providerName === "." || providerName === "..") {
    problems.push(problem(namePath, "must not be '.' or '..'"));
  }

  const rawImages = str(settingsKeys.matchImages);
  const matchImages = rawImages === null ? [] : lines(rawImages);
  const imagesPath = `data.${settingsKeys.matchImages}`;
  if (matchImages.length === 0) {
    problems.push(problem(imagesPath, "Required value: at least one image pattern, one per line"));
  }
  matchImages.forEach((m, i) => {
    const err = matchImageError(m);
    if (err !== null)
      problems.push(
        problem(`${imagesPath}[${i}]`, `invalid match image ${JSON.stringify(m)}: ${err}`),
      );
  });

  const matchingText = (str(settingsKeys.matching) ?? defaultSettings.matching).trim();
  const matching = matchingModes.find((m) => m === matchingText);
  if (matching === undefined) {
    problems.push(
      problem(
        `data.${settingsKeys.matching}`,
        `must be one of ${matchingModes.join(", ")}, got ${JSON.stringify(matchingText)}`,
      ),
    );
  }

  const defaultCacheDuration = (
    str(settingsKeys.defaultCacheDuration) ?? defaultSettings.defaultCacheDuration
  ).trim();
  const duration = parseGoDuration(defaultCacheDuration);
  const durationPath = `data.${settingsKeys.defaultCacheDuration}`;
  if (!duration.ok) problems.push(problem(durationPath, duration.error));
  else if (duration.nanos < 0n)
    problems.push(problem(durationPath, "must be greater than or equal to 0"));

  const template = str(settingsKeys.template);
  if (problems.length > 0 || matching === undefined) return { ok: false, problems };
  return {
    ok: true,
    value: { providerName, matchImages, matching, defaultCacheDuration, template },
  };
}

/** Reads a ConfigMap manifest (YAML or JSON) and returns its settings. */
export function settingsFromConfigMapText(text: string): Result<Settings> {
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
