import { formatGoDuration, parseGoDuration } from "../../../provider/core/duration.ts";
import { API_GROUP } from "../../../provider/core/request.ts";
import { atLeast, type KubeletVersion } from "./kubelet-version.ts";
import { invalidMatchImage } from "../settings/match-image.ts";
import { child, index, problem, quote, type Problem } from "../problems.ts";
import { qualifiedNameErrors } from "../settings/qualified-name.ts";
import { isRecord } from "../strict-yaml.ts";

/**
 * The kubelet's start-up checks of a CredentialProviderConfig, reproduced so that a config
 * the kubelet would reject never reaches a node: a rejected config makes the kubelet exit
 * ("Failed to register CRI auth plugins") and the node goes NotReady.
 *
 * Sources: kubernetes/kubernetes pkg/credentialprovider/plugin/config.go (decode,
 * validateCredentialProviderConfig), kubernetes/kubelet config/v1/types.go and its v1beta1/v1alpha1 siblings (field
 * names and types, decoded with the strict serializer: unknown or duplicate fields are errors, names are
 * case-sensitive). Unlike the kubelet, paths here carry the list index (`providers[1].name`),
 * and decode and validation problems are reported together.
 */

export interface ExecEnvVar {
  readonly name: string;
  readonly value: string;
}

export interface TokenAttributes {
  readonly serviceAccountTokenAudience: string;
  readonly cacheType: string;
  readonly requireServiceAccount: boolean | null;
  readonly requiredServiceAccountAnnotationKeys: readonly string[];
  readonly optionalServiceAccountAnnotationKeys: readonly string[];
}

export interface CredentialProvider {
  readonly name: string;
  readonly matchImages: readonly string[];
  /** Go duration text as written; null when absent. */
  readonly defaultCacheDuration: string | null;
  readonly apiVersion: string;
  readonly args: readonly string[];
  readonly env: readonly ExecEnvVar[];
  readonly tokenAttributes: TokenAttributes | null;
}

export interface CredentialProviderConfig {
  readonly apiVersion: string;
  readonly kind: string;
  readonly providers: readonly CredentialProvider[];
}

export const configGroup = "kubelet.config.k8s.io";
/** The exec plugin's API group: the provider's own constant, so both halves name it alike. */
export const providerGroup = API_GROUP;

/** Config apiVersions the kubelet registers, with the first minor that knows each. */
const configApiVersions: ReadonlyMap<string, number> = new Map([
  [`${configGroup}/v1`, 26],
  [`${configGroup}/v1beta1`, 24],
  [`${configGroup}/v1alpha1`, 20],
]);

/** Provider (exec plugin) apiVersions, same gate: KubeletCredentialProviders GA in 1.26. */
const providerApiVersions: ReadonlyMap<string, number> = new Map([
  [`${providerGroup}/v1`, 26],
  [`${providerGroup}/v1alpha1`, 20],
  [`${providerGroup}/v1beta1`, 24],
]);

/**
 * KubeletServiceAccountTokenForCredentialProviders: alpha (off) in 1.33, beta and on by
 * default from 1.34, which is also when `cacheType` appeared. We cannot see feature gates
 * from here, so below 1.34 tokenAttributes is treated as forbidden.
 */
export const tokenAttributesMinor = 34;

const validCacheTypes = ["ServiceAccount", "Token"];

export interface ValidateOptions {
  /** When given, apiVersions and gated fields are also checked against this kubelet. */
  readonly kubeletVersion?: KubeletVersion;
}

type Kind = "string" | "bool" | "stringList";

class Decoder {
  readonly problems: Problem[] = [];

  unknownFields(obj: Record<string, unknown>, path: string, known: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) {
        this.problems.push(
          problem(
            child(path, key.length > 64 ? `${key.slice(0, 64)}…` : key),
            `strict decoding error: unknown field ${quote(child(path, key))}`,
          ),
        );
      }
    }
  }

  typeError(path: string, want: string, got: unknown): void {
    const kind = got === null ? "null" : Array.isArray(got) ? "array" : typeof got;
    this.problems.push(problem(path, `cannot unmarshal ${kind} into a field of type ${want}`));
  }

  /** Go's json: null leaves the zero value; anything of the wrong type is an error. */
  field(obj: Record<string, unknown>, key: string, path: string, kind: "string"): string;
  field(obj: Record<string, unknown>, key: string, path: string, kind: "bool"): boolean | null;
  field(obj: Record<string, unknown>, key: string, path: string, kind: "stringList"): string[];
  field(
    obj: Record<string, unknown>,
    key: string,
    path: string,
    kind: Kind,
  ): string | boolean | null | string[] {
    const p = child(path, key);
    const v = obj[key];
    if (kind === "string") {
      if (v === undefined || v === null) return "";
      if (typeof v === "string") return v;
      this.typeError(p, "string", v);
      return "";
    }
    if (kind === "bool") {
      if (v === undefined || v === null) return null;
      if (typeof v === "boolean") return v;
      this.typeError(p, "bool", v);
      return null;
    }
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.typeError(p, "[]string", v);
      return [];
    }
    const out: string[] = [];
    v.forEach((item: unknown, i) => {
      if (typeof item === "string") out.push(item);
      else this.typeError(index(p, i), "string", item);
    });
    return out;
  }
}

const providerFields = [
  "name",
  "matchImages",
  "defaultCacheDuration",
  "apiVersion",
  "args",
  "env",
  "tokenAttributes",
];
const tokenFields = [
  "serviceAccountTokenAudience",
  "cacheType",
  "requireServiceAccount",
  "requiredServiceAccountAnnotationKeys",
  "optionalServiceAccountAnnotationKeys",
];

function decodeTokenAttributes(d: Decoder, raw: unknown, path: string): TokenAttributes | null {
  if (raw === undefined || raw === null) return null;
  if (!isRecord(raw)) {
    d.typeError(path, "ServiceAccountTokenAttributes", raw);
    return null;
  }
  d.unknownFields(raw, path, tokenFields);
  return {
    serviceAccountTokenAudience: d.field(raw, "serviceAccountTokenAudience", path, "string"),
    cacheType: d.field(raw, "cacheType", path, "string"),
    requireServiceAccount: d.field(raw, "requireServiceAccount", path, "bool"),
    requiredServiceAccountAnnotationKeys: d.field(
      raw,
      "requiredServiceAccountAnnotationKeys",
      path,
      "stringList",
    ),
    optionalServiceAccountAnnotationKeys: d.field(
      raw,
      "optionalServiceAccountAnnotationKeys",
      path,
      "stringList",
    ),
  };
}

function decodeEnv(d: Decoder, raw: unknown, path: string): ExecEnvVar[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    d.typeError(path, "[]ExecEnvVar", raw);
    return [];
  }
  const out: ExecEnvVar[] = [];
  raw.forEach((item: unknown, i) => {
    const p = index(path, i);
    if (!isRecord(item)) {
      d.typeError(p, "ExecEnvVar", item);
      return;
    }
    d.unknownFields(item, p, ["name", "value"]);
    out.push({
      name: d.field(item, "name", p, "string"),
      value: d.field(item, "value", p, "string"),
    });
  });
  return out;
}

function decodeProvider(
  d: Decoder,
  raw: unknown,
  path: string,
  tokenAttributesKnown: boolean,
): CredentialProvider | null {
  if (!isRecord(raw)) {
    d.typeError(path, "CredentialProvider", raw);
    return null;
  }
  // tokenAttributes exists only in the v1 config type; in v1alpha1/v1beta1 it is an unknown
  // field, which config_test.go checks ("v1alpha1 config with token attributes should fail").
  d.unknownFields(
    raw,
    path,
    tokenAttributesKnown ? providerFields : providerFields.filter((f) => f !== "tokenAttributes"),
  );
  const duration = raw["defaultCacheDuration"];
  let defaultCacheDuration: string | null = null;
  if (typeof duration === "string") defaultCacheDuration = duration;
  else if (duration !== undefined && duration !== null) {
    // metav1.Duration unmarshals from a JSON string only: `defaultCacheDuration: 0` fails.
    d.typeError(
      child(path, "defaultCacheDuration"),
      'metav1.Duration (a string like "5m")',
      duration,
    );
  }
  return {
    name: d.field(raw, "name", path, "string"),
    matchImages: d.field(raw, "matchImages", path, "stringList"),
    defaultCacheDuration,
    apiVersion: d.field(raw, "apiVersion", path, "string"),
    args: d.field(raw, "args", path, "stringList"),
    env: decodeEnv(d, raw["env"], child(path, "env")),
    tokenAttributes: tokenAttributesKnown
      ? decodeTokenAttributes(d, raw["tokenAttributes"], child(path, "tokenAttributes"))
      : null,
  };
}

/** Strict decode: the universal decoder's checks plus the typed fields. */
export function decodeCredentialProviderConfig(raw: unknown): {
  readonly config: CredentialProviderConfig | null;
  readonly problems: readonly Problem[];
} {
  const d = new Decoder();
  if (!isRecord(raw)) {
    d.typeError("", "CredentialProviderConfig (a mapping)", raw);
    return { config: null, problems: d.problems };
  }
  const apiVersion = raw["apiVersion"];
  const kind = raw["kind"];
  if (typeof kind !== "string" || kind === "") {
    d.problems.push(problem("kind", "Object 'Kind' is missing"));
  }
  if (typeof apiVersion !== "string" || apiVersion === "") {
    d.problems.push(problem("apiVersion", "Object 'apiVersion' is missing"));
  }
  if (
    typeof kind === "string" &&
    typeof apiVersion === "string" &&
    kind !== "" &&
    apiVersion !== ""
  ) {
    if (!configApiVersions.has(apiVersion)) {
      d.problems.push(
        problem(
          "apiVersion",
          `no kind ${quote(kind)} is registered for version ${quote(apiVersion)}; supported: ${[...configApiVersions.keys()].sort().join(", ")}`,
        ),
      );
    } else if (kind !== "CredentialProviderConfig") {
      d.problems.push(
        problem("kind", `no kind ${quote(kind)} is registered for version ${quote(apiVersion)}`),
      );
    }
  }
  d.unknownFields(raw, "", ["apiVersion", "kind", "providers"]);
  const tokenAttributesKnown = apiVersion === `${configGroup}/v1`;
  const providers: CredentialProvider[] = [];
  const rawProviders = raw["providers"];
  if (rawProviders !== undefined && rawProviders !== null) {
    if (!Array.isArray(rawProviders))
      d.typeError("providers", "[]CredentialProvider", rawProviders);
    else {
      rawProviders.forEach((p: unknown, i) => {
        const decoded = decodeProvider(d, p, index("providers", i), tokenAttributesKnown);
        if (decoded !== null) providers.push(decoded);
      });
    }
  }
  return {
    config: {
      apiVersion: typeof apiVersion === "string" ? apiVersion : "",
      kind: typeof kind === "string" ? kind : "",
      providers,
    },
    problems: d.problems,
  };
}

function validateAnnotationKeys(path: string, keys: readonly string[]): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  for (const k of keys) {
    // Upstream: "QualifiedName except that case doesn't matter".
    for (const msg of qualifiedNameErrors(k.toLowerCase())) {
      out.push(problem(path, `Invalid value: ${quote(k)}: ${msg}`));
    }
    if (seen.has(k)) out.push(problem(path, `Duplicate value: ${quote(k)}`));
    seen.add(k);
  }
  return out;
}

/** validateCredentialProviderConfig, plus version checks against the node's kubelet. */
export function validateCredentialProviderConfig(
  config: CredentialProviderConfig,
  options: ValidateOptions = {},
): Problem[] {
  const out: Problem[] = [];
  const kv = options.kubeletVersion;
  if (kv !== undefined) {
    const minMinor = configApiVersions.get(config.apiVersion);
    if (minMinor !== undefined && !atLeast(kv, 1, minMinor)) {
      out.push(
        problem(
          "apiVersion",
          `${config.apiVersion} needs kubelet >= v1.${minMinor}, this node runs ${kv.text}`,
        ),
      );
    }
  }
  if (config.providers.length === 0) {
    out.push(problem("providers", "Required value: at least 1 item in plugins is required"));
  }
  const seen = new Set<string>();
  config.providers.forEach((p, i) => {
    const at = index("providers", i);
    out.push(
      ...nameProblems(p.name, child(at, "name"), seen),
      ...apiVersionProblems(p.apiVersion, child(at, "apiVersion"), kv),
      ...matchImagesProblems(p.matchImages, child(at, "matchImages")),
      ...cacheDurationProblems(p.defaultCacheDuration, child(at, "defaultCacheDuration")),
    );
    if (p.tokenAttributes !== null) {
      out.push(
        ...tokenAttributesProblems(
          p.tokenAttributes,
          child(at, "tokenAttributes"),
          p.apiVersion,
          kv,
        ),
      );
    }
  });
  return out;
}

/** A provider's name: the binary's file name in the bin dir, unique in the config. */
function nameProblems(name: string, path: string, seen: Set<string>): Problem[] {
  const out: Problem[] = [];
  const quoted = quote(name);
  if (name === "") out.push(problem(path, "Required value"));
  if (name.includes("/")) {
    out.push(problem(path, `Invalid value: ${quoted}: provider name cannot contain '/'`));
  }
  if (name.includes(" ")) {
    out.push(problem(path, `Invalid value: ${quoted}: provider name cannot contain spaces`));
  }
  if (name === ".")
    out.push(problem(path, `Invalid value: ${quoted}: provider name cannot be '.'`));
  if (name === "..") {
    out.push(problem(path, `Invalid value: ${quoted}: provider name cannot be '..'`));
  }
  if (seen.has(name)) out.push(problem(path, `Duplicate value: ${quoted}`));
  seen.add(name);
  return out;
}

/** The exec plugin API version: one the kubelet speaks, and this node's kubelet too. */
function apiVersionProblems(
  apiVersion: string,
  path: string,
  kv: KubeletVersion | undefined,
): Problem[] {
  if (apiVersion === "") return [problem(path, "Required value")];
  const minMinor = providerApiVersions.get(apiVersion);
  if (minMinor === undefined) {
    const supported = [...providerApiVersions.keys()]
      .sort()
      .map((v) => JSON.stringify(v))
      .join(", ");
    return [
      problem(path, `Unsupported value: ${quote(apiVersion)}: supported values: ${supported}`),
    ];
  }
  if (kv !== undefined && !atLeast(kv, 1, minMinor)) {
    return [
      problem(path, `${apiVersion} needs kubelet >= v1.${minMinor}, this node runs ${kv.text}`),
    ];
  }
  return [];
}

function matchImagesProblems(matchImages: readonly string[], path: string): Problem[] {
  const out: Problem[] = [];
  if (matchImages.length === 0) {
    out.push(problem(path, "Required value: at least 1 item in matchImages is required"));
  }
  matchImages.forEach((m, j) => {
    const invalid = invalidMatchImage(m);
    if (invalid !== null) out.push(problem(index(path, j), invalid));
  });
  return out;
}

function cacheDurationProblems(duration: string | null, path: string): Problem[] {
  if (duration === null) return [problem(path, "Required value")];
  const parsed = parseGoDuration(duration);
  if (!parsed.ok) {
    return [
      problem(
        path,
        `Invalid value: ${duration.length > 40 ? `time: invalid duration ${quote(duration)}` : parsed.error}`,
      ),
    ];
  }
  if (parsed.nanos < 0n) {
    return [
      problem(
        path,
        `Invalid value: ${JSON.stringify(formatGoDuration(parsed.nanos))}: must be greater than or equal to 0`,
      ),
    ];
  }
  return [];
}

/** tokenAttributes (KEP-4412): gated by the kubelet's version, v1 only, fields as upstream. */
function tokenAttributesProblems(
  ta: TokenAttributes,
  tp: string,
  apiVersion: string,
  kv: KubeletVersion | undefined,
): Problem[] {
  const out: Problem[] = [];
  if (kv !== undefined && !atLeast(kv, 1, tokenAttributesMinor)) {
    out.push(
      problem(
        tp,
        `Forbidden: tokenAttributes is not supported when KubeletServiceAccountTokenForCredentialProviders feature gate is disabled (on by default from v1.${tokenAttributesMinor}; this node runs ${kv.text})`,
      ),
    );
  }
  if (ta.serviceAccountTokenAudience === "") {
    out.push(problem(child(tp, "serviceAccountTokenAudience"), "Required value"));
  }
  if (ta.requireServiceAccount === null) {
    out.push(problem(child(tp, "requireServiceAccount"), "Required value"));
  }
  if (apiVersion !== `${providerGroup}/v1`) {
    out.push(
      problem(
        tp,
        `Forbidden: tokenAttributes is only supported for ${providerGroup}/v1 API version`,
      ),
    );
  }
  if (ta.requireServiceAccount === false && ta.requiredServiceAccountAnnotationKeys.length > 0) {
    out.push(
      problem(
        child(tp, "requiredServiceAccountAnnotationKeys"),
        "Forbidden: requireServiceAccount cannot be false when requiredServiceAccountAnnotationKeys is set",
      ),
    );
  }
  out.push(
    ...annotationKeyProblems(ta, tp),
    ...cacheTypeProblems(ta.cacheType, child(tp, "cacheType")),
  );
  return out;
}

function annotationKeyProblems(ta: TokenAttributes, tp: string): Problem[] {
  const out = [
    ...validateAnnotationKeys(
      child(tp, "requiredServiceAccountAnnotationKeys"),
      ta.requiredServiceAccountAnnotationKeys,
    ),
    ...validateAnnotationKeys(
      child(tp, "optionalServiceAccountAnnotationKeys"),
      ta.optionalServiceAccountAnnotationKeys,
    ),
  ];
  const optional = new Set(ta.optionalServiceAccountAnnotationKeys);
  const both = [...new Set(ta.requiredServiceAccountAnnotationKeys)]
    .filter((k) => optional.has(k))
    .sort();
  if (both.length > 0) {
    out.push(
      problem(
        tp,
        `Invalid value: ${JSON.stringify(both)}: annotation keys cannot be both required and optional`,
      ),
    );
  }
  return out;
}

function cacheTypeProblems(cacheType: string, path: string): Problem[] {
  if (cacheType === "") {
    return [
      problem(
        path,
        `Required value: cacheType is required to be set when tokenAttributes is specified. Supported values are: ${validCacheTypes.join(", ")}`,
      ),
    ];
  }
  if (!validCacheTypes.includes(cacheType)) {
    return [
      problem(
        path,
        `Unsupported value: ${quote(cacheType)}: supported values: ${validCacheTypes.map((c) => JSON.stringify(c)).join(", ")}`,
      ),
    ];
  }
  return [];
}

/** Decode + validate in one call: every problem at once, and the config only if there are none. */
export function checkCredentialProviderConfig(
  raw: unknown,
  options: ValidateOptions = {},
): { readonly config: CredentialProviderConfig | null; readonly problems: readonly Problem[] } {
  const decoded = decodeCredentialProviderConfig(raw);
  if (decoded.config === null) return decoded;
  const problems = [
    ...decoded.problems,
    ...validateCredentialProviderConfig(decoded.config, options),
  ];
  return { config: problems.length === 0 ? decoded.config : null, problems };
}
