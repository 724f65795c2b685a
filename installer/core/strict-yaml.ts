import { parseAllDocuments, type ScalarTag, type Tags } from "yaml";
import { problem, type Problem, type Result } from "./problems.ts";

/**
 * Parses YAML or JSON the way sigs.k8s.io/yaml (go-yaml v2, YAML 1.1) does for the kubelet:
 * `yes`/`on` are booleans, duplicate keys are an error, aliases resolve. Timestamps and
 * sexagesimal numbers are left as strings because go-yaml v2 does not resolve them into
 * an `interface{}` either. Exactly one document is accepted: the kubelet reads only one, and
 * a second document is far more likely a mistake than an intent.
 */
const goYamlUnsupported = new Set([
  "tag:yaml.org,2002:timestamp",
  "tag:yaml.org,2002:binary",
  "tag:yaml.org,2002:omap",
  "tag:yaml.org,2002:pairs",
  "tag:yaml.org,2002:set",
]);

function goYamlTags(tags: Tags): Tags {
  const out: Tags = [];
  for (const t of tags) {
    if (typeof t !== "object") {
      out.push(t);
      continue;
    }
    if (goYamlUnsupported.has(t.tag)) continue;
    // intTime/floatTime (base 60, `1:20`) share the int/float tags but have a `format`.
    if ("format" in t && t.format === "TIME") continue;
    // go-yaml resolves a float only when strconv.ParseFloat accepts it, so `.` or `e5` stay
    // strings; the bare YAML 1.1 patterns would make them NaN or a number. Require a digit.
    const test = "test" in t ? t.test : undefined;
    if (
      t.tag === "tag:yaml.org,2002:float" &&
      test instanceof RegExp &&
      test.source.startsWith("^[-+]?(?:[0-9]")
    ) {
      const digitFirst = new RegExp(`^(?=[-+]?[._]*[0-9])${test.source.slice(1)}`, test.flags);
      out.push({ ...(t as ScalarTag), test: digitFirst });
      continue;
    }
    out.push(t);
  }
  return out;
}

export function parseStrictYaml(text: string, path = ""): Result<unknown> {
  const docs = parseAllDocuments(text, {
    version: "1.1",
    uniqueKeys: true,
    strict: true,
    prettyErrors: false,
    customTags: goYamlTags,
  });
  const list = Array.isArray(docs) ? docs : [];
  if (!Array.isArray(docs)) {
    return { ok: false, problems: [problem(path, "not a YAML document")] };
  }
  if (list.length === 0) return { ok: false, problems: [problem(path, "empty document")] };
  if (list.length > 1) {
    return {
      ok: false,
      problems: [problem(path, `expected one YAML document, found ${list.length}`)],
    };
  }
  const doc = list[0];
  if (doc === undefined) return { ok: false, problems: [problem(path, "empty document")] };
  const problems: Problem[] = doc.errors.map((e) => problem(path, `YAML: ${e.message}`));
  if (problems.length > 0) return { ok: false, problems };
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) as unknown };
  } catch (e) {
    return { ok: false, problems: [problem(path, `YAML: ${(e as Error).message}`)] };
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Map);
}
