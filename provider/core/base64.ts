// Go's encoding/base64 decoder, the one copy for both halves of nodecred, with the ways Kubernetes
// applies it:
// - decodeStdBase64: StdEncoding (padded), what the API server's JSON decoding does to a []byte
//   field such as a Secret's `data` values; the installer reads `.dockerconfigjson` with it.
// - decodeDockerAuthBase64: the kubelet's `auth` field of a Docker config
//   (pkg/credentialprovider/config.go decodeDockerConfigFieldAuth): padded (StdEncoding) when the
//   trimmed field ends in "=", unpadded (RawStdEncoding) otherwise.
// - decodeRawUrlBase64: RawURLEncoding (URL alphabet "-" "_", no padding), the encoding of the
//   parts of a JWT (RFC 7515), for the service-account token the kubelet sends (scopes.ts).
// Like Go's decoder, "\r" and "\n" are skipped anywhere, every other character outside the alphabet
// is an error, and unused trailing bits are ignored (Go's decoder is not in Strict mode).
// Hand-written because QuickJS has neither atob nor Buffer.

import { encodeUtf8 } from "./utf8.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Sextet values by character code (-1: not in the alphabet), one table per alphabet. */
function sextetTable(url: boolean): number[] {
  const table: number[] = [];
  for (let c = 0; c < 128; c++) table.push(-1);
  for (let v = 0; v < 64; v++) table[ALPHABET.charCodeAt(v)] = v;
  if (url) {
    table[43] = -1; // "+"
    table[47] = -1; // "/"
    table[45] = 62; // "-"
    table[95] = 63; // "_"
  }
  return table;
}

const STD_SEXTETS = sextetTable(false);
const URL_SEXTETS = sextetTable(true);

const CR = 13;
const LF = 10;
const PAD = 61;

/** Go's unicode.IsSpace, which strings.TrimSpace uses. */
function isGoSpace(c: number): boolean {
  return (
    (c >= 9 && c <= 13) ||
    c === 32 ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

function trimmedEndsWithPad(s: string): boolean {
  let end = s.length;
  while (end > 0 && isGoSpace(s.charCodeAt(end - 1))) end--;
  return end > 0 && s.charCodeAt(end - 1) === PAD;
}

/**
 * Decodes like Go's (*base64.Encoding).DecodeString with StdEncoding (padded=true) or
 * RawStdEncoding (padded=false), or with URLEncoding / RawURLEncoding (url=true). Returns
 * undefined where Go returns an error.
 */
export function decodeGoBase64(s: string, padded: boolean, url = false): number[] | undefined {
  // One pass, the quantum kept in an integer (no allocation per character: a 1 MiB service
  // account token is decoded in the static binary too).
  const sextets = url ? URL_SEXTETS : STD_SEXTETS;
  const out: number[] = [];
  let quantum = 0;
  let count = 0;
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i++);
    const v = c < 128 ? (sextets[c] ?? -1) : -1;
    if (v >= 0) {
      quantum = (quantum << 6) | v;
      if (++count === 4) {
        out.push((quantum >> 16) & 0xff, (quantum >> 8) & 0xff, quantum & 0xff);
        quantum = 0;
        count = 0;
      }
      continue;
    }
    if (c === CR || c === LF) continue;
    if (!padded || c !== PAD) return undefined;
    return afterPadding(s, i, out, quantum, count);
  }
  if (count === 0) return out;
  // A partial final quantum is only valid unpadded, and never a single sextet.
  if (count === 1 || padded) return undefined;
  emitPartial(out, quantum, count);
  return out;
}

/**
 * The rest of `s` after its first "=" (at `from` - 1), `count` sextets into the quantum: "xx==" or
 * "xxx=", then nothing but newlines.
 */
function afterPadding(
  s: string,
  from: number,
  out: number[],
  quantum: number,
  count: number,
): number[] | undefined {
  if (count < 2) return undefined;
  let i = from;
  if (count === 2) {
    i = skipNewlines(s, i);
    if (i === s.length || s.charCodeAt(i) !== PAD) return undefined;
    i++;
  }
  if (skipNewlines(s, i) < s.length) return undefined;
  emitPartial(out, quantum, count);
  return out;
}

/** The index of the first character at or after `i` that is not "\r" or "\n". */
function skipNewlines(s: string, i: number): number {
  let j = i;
  while (j < s.length && (s.charCodeAt(j) === CR || s.charCodeAt(j) === LF)) j++;
  return j;
}

/** The bytes of a final quantum of 2 or 3 sextets (unused trailing bits ignored, as Go does). */
function emitPartial(out: number[], quantum: number, count: number): void {
  if (count === 2) out.push((quantum >> 4) & 0xff);
  else out.push((quantum >> 10) & 0xff, (quantum >> 2) & 0xff);
}

/** A Secret `data` value as the API server decodes it (encoding/json: base64.StdEncoding). */
export function decodeStdBase64(s: string): number[] | undefined {
  return decodeGoBase64(s, true);
}

/** The kubelet's choice between padded and unpadded decoding, then the decode itself. */
export function decodeDockerAuthBase64(field: string): number[] | undefined {
  return decodeGoBase64(field, trimmedEndsWithPad(field));
}

/** A JWT part (base64.RawURLEncoding: URL alphabet, no padding). */
export function decodeRawUrlBase64(s: string): number[] | undefined {
  return decodeGoBase64(s, false, true);
}

/** Standard padded base64 of a UTF-8 string (tests and tooling build `auth` fields with it). */
export function encodeBase64Utf8(text: string): string {
  const bytes = encodeUtf8(text);
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] ?? 0;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    out += ALPHABET.charAt((n >> 18) & 63) + ALPHABET.charAt((n >> 12) & 63);
    out += b === undefined ? "=" : ALPHABET.charAt((n >> 6) & 63);
    out += c === undefined ? "=" : ALPHABET.charAt(n & 63);
  }
  return out;
}
