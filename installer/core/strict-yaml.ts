import {
  LineCounter,
  parseAllDocuments,
  type Document,
  type ErrorCode,
  type ScalarTag,
  type Tags,
  type YAMLError,
} from "yaml";
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

/**
 * What a YAML error says, without the text it is about: the parser's messages quote the source
 * (an escape sequence, a tag, an alias name; with `prettyErrors`, the whole line), and the source
 * may be a Secret. Only the kind (the parser's stable code) and the position are kept.
 */
const errorKinds: Readonly<Record<ErrorCode, string>> = {
  ALIAS_PROPS: "An alias cannot have an anchor or a tag",
  BAD_ALIAS: "Invalid alias",
  BAD_COLLECTION_TYPE: "A tag does not fit its collection",
  BAD_DIRECTIVE: "Invalid directive",
  BAD_DQ_ESCAPE: "Invalid escape sequence in a double-quoted string",
  BAD_INDENT: "Bad indentation (or an unclosed bracket)",
  BAD_PROP_ORDER: "Anchor or tag in the wrong place",
  BAD_SCALAR_START: "A plain value starts with a reserved character (quote it)",
  BLOCK_AS_IMPLICIT_KEY:
    "A mapping inside a one-line key (a missing space after a colon, or a value to quote?)",
  BLOCK_IN_FLOW: "A block collection inside a flow collection",
  DUPLICATE_KEY: "Map keys must be unique",
  IMPOSSIBLE: "Parser error",
  KEY_OVER_1024_CHARS: "A one-line key longer than 1024 characters",
  MISSING_CHAR: "Missing character (an unclosed quote or bracket, or a missing comma or colon)",
  MULTILINE_IMPLICIT_KEY: "A key without an explicit indicator spans lines",
  MULTIPLE_ANCHORS: "More than one anchor on a node",
  MULTIPLE_DOCS: "More than one document",
  MULTIPLE_TAGS: "More than one tag on a node",
  NON_STRING_KEY: "A key that is not a string",
  RESOURCE_EXHAUSTION: "Too large to resolve",
  TAB_AS_INDENT: "A tab used as indentation",
  TAG_RESOLVE_FAILED: "A tag that cannot be resolved",
  UNEXPECTED_TOKEN: "Unexpected token",
};

function describeError(e: YAMLError, lines: LineCounter): string {
  const kind = Object.hasOwn(errorKinds, e.code) ? errorKinds[e.code] : "Syntax error";
  const { line, col } = lines.linePos(e.pos[0]);
  return `YAML: ${kind} at line ${String(line)}, column ${String(col)} (${e.code})`;
}

/** The same for what converting to plain values throws (it has no position). */
function describeConversionError(e: unknown): string {
  const message = e instanceof Error ? e.message : "";
  if (message.startsWith("Unresolved alias")) {
    return "YAML: An alias refers to no anchor defined before it";
  }
  if (message.startsWith("Excessive alias count")) return "YAML: Too many aliases";
  return "YAML: Cannot be converted to plain values";
}

export interface StrictYamlOptions {
  /**
   * Mappings as `Map`s: keys keep their document order and their YAML type (a JS object would
   * put integer-like keys first, and turn `1` and `"1"` into one key).
   */
  readonly mapAsMap?: boolean;
}

/**
 * The one document of `text`, parsed as above, with its comments and layout (for an edit that
 * keeps them, merge-config.ts), or every problem. parseStrictYaml is this plus `toJS`.
 */
export function parseStrictDocument(text: string, path = ""): Result<Document> {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter: lines,
    version: "1.1",
    uniqueKeys: true,
    strict: true,
    prettyErrors: false,
    customTags: goYamlTags,
  });
  if (!Array.isArray(docs)) {
    return { ok: false, problems: [problem(path, "not a YAML document")] };
  }
  if (docs.length > 1) {
    return {
      ok: false,
      problems: [problem(path, `expected one YAML document, found ${String(docs.length)}`)],
    };
  }
  const doc = docs[0];
  if (doc === undefined) return { ok: false, problems: [problem(path, "empty document")] };
  const problems: Problem[] = doc.errors.map((e) => problem(path, describeError(e, lines)));
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: doc };
}

/** A strictly parsed document as plain values (aliases bounded), or why it cannot be one. */
export function strictValue(
  doc: Document,
  path = "",
  options: StrictYamlOptions = {},
): Result<unknown> {
  try {
    return {
      ok: true,
      value: doc.toJS({ maxAliasCount: 100, mapAsMap: options.mapAsMap === true }) as unknown,
    };
  } catch (e) {
    return { ok: false, problems: [problem(path, describeConversionError(e))] };
  }
}

export function parseStrictYaml(
  text: string,
  path = "",
  options: StrictYamlOptions = {},
): Result<unknown> {
  const doc = parseStrictDocument(text, path);
  return doc.ok ? strictValue(doc.value, path, options) : doc;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Map);
}
