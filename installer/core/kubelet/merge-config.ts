import { isMap, isSeq, parseDocument, type Document } from "yaml";
import { problem, type Result } from "../problems.ts";
import { isRecord, parseStrictYaml } from "../strict-yaml.ts";

/**
 * Adds, replaces or removes provider entries (by name) in a CredentialProviderConfig that
 * belongs to someone else (EKS, AKS, GKE, a user's k3s file). Every other entry and field is
 * kept; the file stays JSON or YAML as it was; YAML comments survive. Validation of the result
 * is the caller's job (desired-state.ts validates the merged file like any other).
 */

export type ConfigFormat = "json" | "yaml";

export function detectFormat(text: string): ConfigFormat {
  return text.trimStart().startsWith("{") ? "json" : "yaml";
}

/** The indentation the JSON file already uses, so a merge does not reformat it needlessly. */
function jsonIndent(text: string): string {
  const m = /\n([ \t]+)\S/.exec(text);
  return m?.[1] ?? "  ";
}

function editJson(
  text: string,
  path: string,
  edit: (providers: unknown[]) => unknown[],
): Result<string> {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    return { ok: false, problems: [problem(path, `not valid JSON: ${(e as Error).message}`)] };
  }
  if (!isRecord(obj)) return { ok: false, problems: [problem(path, "not a JSON object")] };
  const providers = obj["providers"] ?? [];
  if (!Array.isArray(providers)) {
    return { ok: false, problems: [problem(`${path}: providers`, "not a list")] };
  }
  obj["providers"] = edit(providers as unknown[]);
  return { ok: true, value: `${JSON.stringify(obj, null, jsonIndent(text))}\n` };
}

function editYaml(
  text: string,
  path: string,
  edit: (doc: Document, items: unknown[]) => unknown[],
): Result<string> {
  const doc = parseDocument(text, { version: "1.1", uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { ok: false, problems: doc.errors.map((e) => problem(path, `YAML: ${e.message}`)) };
  }
  if (!isMap(doc.contents)) return { ok: false, problems: [problem(path, "not a YAML mapping")] };
  let seq = doc.get("providers", true);
  if (seq === undefined || seq === null) {
    seq = doc.createNode([]);
    doc.set("providers", seq);
  }
  if (!isSeq(seq)) return { ok: false, problems: [problem(`${path}: providers`, "not a list")] };
  seq.items = edit(doc, seq.items);
  return { ok: true, value: doc.toString({ lineWidth: 0 }) };
}

function nameOf(item: unknown): unknown {
  if (isMap(item)) return item.get("name");
  if (isRecord(item)) return item["name"];
  return undefined;
}

/**
 * Puts `entries` into the config: an entry whose name exists replaces it in place, a new
 * one goes at the end (the kubelet tries providers in order, so the node's own come first).
 */
export function mergeProviders(
  text: string,
  entries: readonly Record<string, unknown>[],
  path: string,
): Result<string> {
  const place = <T>(items: T[], make: (e: Record<string, unknown>) => T): T[] => {
    const out = [...items];
    for (const e of entries) {
      const i = out.findIndex((item) => nameOf(item) === e["name"]);
      if (i >= 0) out[i] = make(e);
      else out.push(make(e));
    }
    return out;
  };
  if (detectFormat(text) === "json") return editJson(text, path, (items) => place(items, (e) => e));
  return editYaml(text, path, (doc, items) => place(items, (e) => doc.createNode(e)));
}

/** Removes the entries with these names (uninstall when the file changed since we wrote it). */
export function removeProviders(
  text: string,
  names: readonly string[],
  path: string,
): Result<string> {
  const keep = (item: unknown): boolean => !names.includes(String(nameOf(item)));
  if (detectFormat(text) === "json") return editJson(text, path, (items) => items.filter(keep));
  return editYaml(text, path, (_doc, items) => items.filter(keep));
}

/** Names of the providers in a config's text; none when it does not parse. */
export function providerNamesIn(text: string): string[] {
  const parsed = parseStrictYaml(text, "config");
  return parsed.ok ? providerNames(parsed.value) : [];
}

/** Names of the providers in a config, for the first-touch ownership check. */
export function providerNames(parsed: unknown): string[] {
  if (!isRecord(parsed) || !Array.isArray(parsed["providers"])) return [];
  return (parsed["providers"] as unknown[])
    .map((p) => (isRecord(p) ? p["name"] : undefined))
    .filter((n): n is string => typeof n === "string");
}
