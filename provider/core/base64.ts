// Base64 decoding exactly as the kubelet decodes a Docker config `auth` field
// (pkg/credentialprovider/config.go decodeDockerConfigFieldAuth): Go's encoding/base64 with the
// standard alphabet, padded (StdEncoding) when the trimmed field ends in "=", unpadded
// (RawStdEncoding) otherwise. Like Go's decoder, "\r" and "\n" are skipped anywhere, every other
// character outside the alphabet is an error, and unused trailing bits are ignored (Go's decoder is
// not in Strict mode). Hand-written because QuickJS has neither atob nor Buffer.

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

/** The kubelet's choice between padded and unpadded decoding, then the decode itself. */
export function decodeDockerAuthBase64(field: string): number[] | undefined {
  return decodeGoBase64(field, trimmedEndsWithPad(field));
}

/** Standard padded base64 of a UTF-8 string (tests and tooling build `auth` fields with it). */
export function encodeBase64Utf8(text: string): string {
  const bytes: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x80) bytes.push(cp);
    else if (cp < 0x800) bytes.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else
      bytes.push(
        0xf0 | (cp >> 18),
        0x80 | ((cp >> 12) & 63),
        0x80 | ((cp >> 6) & 63),
        0x80 | (cp & 63),
      );
  }
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
