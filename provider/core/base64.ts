// Go's encoding/base64 decoder (standard alphabet), the one copy for both halves of nodecred, with
// the two ways Kubernetes applies it:
// - decodeStdBase64: StdEncoding (padded), what the API server's JSON decoding does to a []byte
//   field such as a Secret's `data` values; the installer reads `.dockerconfigjson` with it.
// - decodeDockerAuthBase64: the kubelet's `auth` field of a Docker config
//   (pkg/credentialprovider/config.go decodeDockerConfigFieldAuth): padded (StdEncoding) when the
//   trimmed field ends in "=", unpadded (RawStdEncoding) otherwise.
// Like Go's decoder, "\r" and "\n" are skipped anywhere, every other character outside the alphabet
// is an error, and unused trailing bits are ignored (Go's decoder is not in Strict mode).
// Hand-written because QuickJS has neither atob nor Buffer.

import { encodeUtf8 } from "./utf8.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function sextet(c: number): number {
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 71;
  if (c >= 48 && c <= 57) return c + 4;
  if (c === 43) return 62;
  if (c === 47) return 63;
  return -1;
}

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
 * RawStdEncoding (padded=false). Returns undefined where Go returns an error.
 */
export function decodeGoBase64(s: string, padded: boolean): number[] | undefined {
  const out: number[] = [];
  let i = 0;
  const n = s.length;
  for (;;) {
    const quantum: number[] = [];
    while (quantum.length < 4) {
      if (i === n) {
        if (quantum.length === 0) return out;
        // A partial final quantum is only valid unpadded, and never a single sextet.
        if (quantum.length === 1 || padded) return undefined;
        emit(out, quantum);
        return out;
      }
      const c = s.charCodeAt(i++);
      const v = sextet(c);
      if (v >= 0) {
        quantum.push(v);
        continue;
      }
      if (c === CR || c === LF) continue;
      if (!padded || c !== PAD) return undefined;
      // Padding: "xx==" or "xxx=", then nothing but newlines.
      if (quantum.length < 2) return undefined;
      if (quantum.length === 2) {
        while (i < n && (s.charCodeAt(i) === CR || s.charCodeAt(i) === LF)) i++;
        if (i === n || s.charCodeAt(i) !== PAD) return undefined;
        i++;
      }
      while (i < n && (s.charCodeAt(i) === CR || s.charCodeAt(i) === LF)) i++;
      if (i < n) return undefined;
      emit(out, quantum);
      return out;
    }
    emit(out, quantum);
  }
}

function emit(out: number[], q: readonly number[]): void {
  const a = q[0] ?? 0;
  const b = q[1] ?? 0;
  const c = q[2] ?? 0;
  const d = q[3] ?? 0;
  out.push(((a << 2) | (b >> 4)) & 0xff);
  if (q.length > 2) out.push(((b << 4) | (c >> 2)) & 0xff);
  if (q.length > 3) out.push(((c << 6) | d) & 0xff);
}

/** A Secret `data` value as the API server decodes it (encoding/json: base64.StdEncoding). */
export function decodeStdBase64(s: string): number[] | undefined {
  return decodeGoBase64(s, true);
}

/** The kubelet's choice between padded and unpadded decoding, then the decode itself. */
export function decodeDockerAuthBase64(field: string): number[] | undefined {
  return decodeGoBase64(field, trimmedEndsWithPad(field));
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
