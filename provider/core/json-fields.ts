// Reading JSON objects the way Go's encoding/json fills a struct: a field is found by its exact
// name or, failing that, case-insensitively (Go's Unicode folding also lets "ſ" stand for "s" and
// the Kelvin sign for "k"; no other non-ASCII rune folds onto ASCII). When several spellings of one field are present Go keeps the last one
// in document order, which JSON.parse does not preserve, so that case is reported as ambiguous.

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function foldName(s: string): string {
  let out = "";
  for (const ch of s) {
    if (ch === "\u017f") out += "S";
    else if (ch === "\u212a") out += "K";
    else if (ch >= "a" && ch <= "z") out += ch.toUpperCase();
    else out += ch;
  }
  return out;
}

export type FieldLookup =
  | { readonly kind: "absent" }
  | { readonly kind: "present"; readonly value: unknown }
  | { readonly kind: "ambiguous"; readonly spellings: readonly string[] };

/** The value Go would decode into the struct field `name` (tag spelling). */
export function goField(obj: Readonly<Record<string, unknown>>, name: string): FieldLookup {
  const want = foldName(name);
  const spellings = Object.keys(obj).filter((k) => k === name || foldName(k) === want);
  if (spellings.length === 0) return { kind: "absent" };
  if (spellings.length > 1) return { kind: "ambiguous", spellings };
  return { kind: "present", value: obj[spellings[0] ?? name] };
}
