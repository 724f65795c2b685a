/**
 * Host files are bytes, not necessarily UTF-8. The core edits them as "byte strings" (one char
 * per byte, code 0–255), so every byte it does not own comes back exactly as it was.
 */
export function byteString(bytes: Uint8Array): string {
  let out = "";
  const step = 8192;
  for (let i = 0; i < bytes.length; i += step) {
    out += String.fromCharCode(...bytes.subarray(i, i + step));
  }
  return out;
}

/** Whether two byte arrays hold the same bytes (compare-first writes, the lock's own bytes). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function bytesOf(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) throw new Error(`not a byte string: char ${String(c)} at ${String(i)}`);
    out[i] = c;
  }
  return out;
}
