// Reading JSON objects the way Go's encoding/json fills a struct: a field is found by its exact
// name or, failing that, case-insensitively (Go's Unicode folding also lets "ſ" stand for "s" and
// the Kelvin sign for "k"; no other non-ASCII rune folds onto ASCII). When several spellings of
// one field are present Go keeps the last one in document order, which JSON.parse does not
// preserve, so that case is reported as ambiguous.

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export type JsonObjectResult =
  | { readonly ok: true; readonly doc: Record<string, unknown> }
  | { readonly ok: false; readonly problem: string };

/**
 * A document that must be one JSON object, or the caller's words for why it is not: JSON.parse's
 * own message is never passed on, since it may quote the text, and so a secret.
 */
export function parseJsonObject(
  text: string,
  notJson: string,
  notObject: string,
): JsonObjectResult {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, problem: notJson };
  }
  return isRecord(doc) ? { ok: true, doc } : { ok: false, problem: notObject };
}

/**
 * Whether Go's case folding makes `key` equal to the ASCII field name whose upper case is `upper`.
 * Every rune that folds onto ASCII is one UTF-16 unit, as is its image, so lengths must agree and
 * units compare one by one: no string is built, whatever the size of the document.
 */
function foldsTo(key: string, upper: string): boolean {
  if (key.length !== upper.length) return false;
  for (let i = 0; i < key.length; i++) {
    let c = key.charCodeAt(i);
    // a-z, and the two non-ASCII runes that fold onto ASCII: ſ (onto S), the Kelvin sign (onto K).
    if (c >= 97 && c <= 122) c -= 32;
    else if (c === 0x17f) c = 83;
    else if (c === 0x212a) c = 75;
    if (c !== upper.charCodeAt(i)) return false;
  }
  return true;
}

export type FieldLookup =
  | { readonly kind: "absent" }
  | { readonly kind: "present"; readonly value: unknown }
  | { readonly kind: "ambiguous"; readonly spellings: readonly string[] };

/** The value Go would decode into the struct field `name` (tag spelling, ASCII). */
export function goField(obj: Readonly<Record<string, unknown>>, name: string): FieldLookup {
  const upper = name.toUpperCase();
  const spellings: string[] = [];
  const keys = Object.keys(obj);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] ?? "";
    if (foldsTo(k, upper)) spellings.push(k);
  }
  if (spellings.length === 0) return { kind: "absent" };
  if (spellings.length > 1) return { kind: "ambiguous", spellings };
  return { kind: "present", value: obj[spellings[0] ?? name] };
}
