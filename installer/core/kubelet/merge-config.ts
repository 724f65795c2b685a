import { isMap, isNode, isScalar, isSeq, type Document } from "yaml";
import { problem, type Result } from "../problems.ts";
import { isRecord, parseStrictDocument, strictValue } from "../strict-yaml.ts";
import { stableYaml } from "./provider-entry.ts";

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
  readonly format: ConfigFormat;
  /** The provider names it holds, in order (for the first-touch ownership check). */
  readonly names: readonly string[];
  /** The JSON file's indentation, kept by the edit. */
  readonly indent: string;
  readonly text: string;
  readonly doc: Document;
  /** The document as plain values (aliases resolved), read once: names and the JSON edit use it. */
  readonly value: Readonly<Record<string, unknown>>;
}

function detectFormat(text: string): ConfigFormat {
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
  const value = isRecord(plain.value) ? plain.value : {};
  const list = value["providers"];
  const names = (Array.isArray(list) ? (list as unknown[]) : [])
    .map(nameOf)
    .filter((n): n is string => typeof n === "string");
  return { ok: true, value: { format, names, indent: jsonIndent(text), text, doc, value } };
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
  if (config.format === "json") {
    const providers = config.value["providers"];
    const obj = {
      ...config.value,
      providers: edited(Array.isArray(providers) ? (providers as unknown[]) : [], edit, (e) => e),
    };
    // The file's own indentation and final newline (or its lack) are kept.
    return `${JSON.stringify(obj, null, config.indent)}${config.text.endsWith("\n") ? "\n" : ""}`;
  }
  const spliced = splicedYaml(config, edit);
  if (spliced !== null) return spliced;
  // Not a plain block list (absent, `[]`, anchors on items): the document written out again.
  const doc = config.doc.clone();
  let seq = doc.get("providers", true);
  if (!isSeq(seq)) {
    seq = doc.createNode([]);
    doc.set("providers", seq);
  }
  if (isSeq(seq)) seq.items = edited(seq.items, edit, (e) => doc.createNode(e));
  return doc.toString({ lineWidth: 0 });
}

/** Where a block list item's lines are in the text, and how deep its dash is. */
interface ItemSpan {
  readonly name: unknown;
  readonly start: number;
  readonly end: number;
  readonly indent: number;
}

function lineStart(text: string, at: number): number {
  return text.lastIndexOf("\n", at - 1) + 1;
}

/** The `providers` items of a block list, each `<indent>- ` then the item; null: not that shape. */
function blockItems(config: ForeignConfig): ItemSpan[] | null {
  const seq = config.doc.get("providers", true);
  if (!isSeq(seq) || seq.flow === true || seq.items.length === 0) return null;
  const spans: ItemSpan[] = [];
  for (const item of seq.items) {
    const range = isNode(item) ? item.range : undefined;
    if (range === undefined || range === null) return null;
    const start = lineStart(config.text, range[0]);
    const dash = /^( *)- +$/.exec(config.text.slice(start, range[0]));
    if (dash === null) return null;
    spans.push({ name: nameOf(item), start, end: range[2], indent: dash[1]?.length ?? 0 });
  }
  return spans;
}

/** An entry written as one item of a block list at `indent` (byte-stable, as our own file). */
function itemText(entry: Record<string, unknown>, indent: number): string {
  const pad = " ".repeat(indent);
  return stableYaml([entry])
    .split("\n")
    .map((l) => (l === "" ? l : pad + l))
    .join("\n");
}

/**
 * The edit made in the text itself: only the lines of the items taken out or replaced change,
 * new items go after the last one at its indentation; every other byte (comments, quoting, the
 * other entries' layout) stays as the node has it. null when the list is not a plain block list.
 */
function splicedYaml(config: ForeignConfig, edit: ProviderEdit): string | null {
  const spans = blockItems(config);
  if (spans === null) return null;
  const { text } = config;
  const indent = spans[0]?.indent ?? 0;
  const put = new Map(edit.put.map((e) => [e["name"], e] as const));
  let out = "";
  let at = 0;
  for (const span of spans) {
    out += text.slice(at, span.start);
    at = span.end;
    const replacement = put.get(span.name);
    if (replacement !== undefined) {
      out += itemText(replacement, span.indent);
      put.delete(span.name);
    } else if (!edit.remove.includes(String(span.name))) {
      out += text.slice(span.start, span.end);
    }
  }
  const last = spans[spans.length - 1];
  const rest = text.slice(at);
  const added = [...put.values()].map((e) => itemText(e, indent)).join("");
  if (added === "") return out + rest;
  const joint = last !== undefined && !text.slice(0, last.end).endsWith("\n") ? "\n" : "";
  return out + joint + added + rest;
}
