import { isMap, isScalar, isSeq, type Document } from "yaml";
import { problem, type Result } from "../problems.ts";
import { isRecord, parseStrictDocument, strictValue } from "../strict-yaml.ts";

/**
 * A CredentialProviderConfig that belongs to someone else (EKS, AKS, GKE, a user's k3s file, a
 * node's own provider): read once, strictly (strict-yaml.ts, the reader every config check here
 * uses, so what is merged is what is validated), then edited by provider name — our entries
 * added or replaced, stale ones taken out — keeping every other entry and field. The file stays
 * JSON or YAML as it was; YAML comments survive. What the edit gives is validated by the caller
 * as the bytes that will be written (kubelet/kubelet-config.ts checkWrittenConfig).
 */

export type ConfigFormat = "json" | "yaml";

export interface ForeignConfig {
  readonly path: string;
  readonly format: ConfigFormat;
  /** The provider names it holds, in order (for the first-touch ownership check). */
  readonly names: readonly string[];
  /** The JSON file's indentation, kept by the edit. */
  readonly indent: string;
  readonly doc: Document;
}

export function detectFormat(text: string): ConfigFormat {
  return text.trimStart().startsWith("{") ? "json" : "yaml";
}

/** The indentation the JSON file already uses, so a merge does not reformat it needlessly. */
function jsonIndent(text: string): string {
  const m = /\n([ \t]+)\S/.exec(text);
  return m?.[1] ?? "  ";
}

function nameOf(item: unknown): unknown {
  if (isMap(item)) return item.get("name");
  if (isRecord(item)) return item["name"];
  return undefined;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/**
 * Reads the config's bytes; refused when they are not UTF-8 (go-yaml, which the kubelet reads
 * them with, refuses that too) or not one document of a mapping whose `providers` is a list.
 */
export function readForeignConfig(bytes: Uint8Array, path: string): Result<ForeignConfig> {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return {
      ok: false,
      problems: [problem(path, "not UTF-8 text (the kubelet reads it as UTF-8)")],
    };
  }
  const parsed = parseStrictDocument(text, path);
  if (!parsed.ok) return parsed;
  const doc = parsed.value;
  const format = detectFormat(text);
  if (!isMap(doc.contents)) {
    return {
      ok: false,
      problems: [problem(path, `not a ${format === "json" ? "JSON object" : "YAML mapping"}`)],
    };
  }
  const providers = doc.get("providers", true);
  const absent =
    providers === undefined ||
    providers === null ||
    (isScalar(providers) && providers.value === null);
  if (!absent && !isSeq(providers)) {
    return { ok: false, problems: [problem(`${path}: providers`, "not a list")] };
  }
  // Aliases resolved as the kubelet resolves them, and bounded (strictValue).
  const plain = strictValue(doc, path);
  if (!plain.ok) return plain;
  const list = isRecord(plain.value) ? plain.value["providers"] : undefined;
  const names = (Array.isArray(list) ? (list as unknown[]) : [])
    .map(nameOf)
    .filter((n): n is string => typeof n === "string");
  return { ok: true, value: { path, format, names, indent: jsonIndent(text), doc } };
}

export interface ProviderEdit {
  /** Entries taken out by name (a provider we installed under an earlier name; uninstall). */
  readonly remove: readonly string[];
  /**
   * Entries put in: one whose name exists replaces it in place, a new one goes at the end (the
   * kubelet tries providers in order, so the node's own come first).
   */
  readonly put: readonly Record<string, unknown>[];
}

function edited<T>(
  items: readonly T[],
  edit: ProviderEdit,
  make: (e: Record<string, unknown>) => T,
): T[] {
  const out = items.filter((item) => !edit.remove.includes(String(nameOf(item))));
  for (const e of edit.put) {
    const i = out.findIndex((item) => nameOf(item) === e["name"]);
    if (i >= 0) out[i] = make(e);
    else out.push(make(e));
  }
  return out;
}

/** The config's bytes after the edit (the input is not changed). */
export function editProviders(config: ForeignConfig, edit: ProviderEdit): Uint8Array {
  return encoder.encode(editedText(config, edit));
}

function editedText(config: ForeignConfig, edit: ProviderEdit): string {
  const doc = config.doc.clone();
  if (config.format === "json") {
    const obj = doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown>;
    const providers = obj["providers"];
    obj["providers"] = edited(
      Array.isArray(providers) ? (providers as unknown[]) : [],
      edit,
      (e) => e,
    );
    return `${JSON.stringify(obj, null, config.indent)}\n`;
  }
  let seq = doc.get("providers", true);
  if (!isSeq(seq)) {
    seq = doc.createNode([]);
    doc.set("providers", seq);
  }
  if (isSeq(seq)) seq.items = edited(seq.items, edit, (e) => doc.createNode(e));
  return doc.toString({ lineWidth: 0 });
}
