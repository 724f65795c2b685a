// UTF-8 <-> string without TextDecoder/TextEncoder, which QuickJS does not provide.

/** Decodes UTF-8 bytes strictly; undefined if they are not well-formed UTF-8. */
export function decodeUtf8(bytes: ArrayLike<number>): string | undefined {
  let out = "";
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b0 = bytes[i] ?? 0;
    if (b0 < 0x80) {
      out += String.fromCharCode(b0);
      i += 1;
      continue;
    }
    let need: number;
    let cp: number;
    let min: number;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      need = 1;
      cp = b0 & 0x1f;
      min = 0x80;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      cp = b0 & 0x0f;
      min = 0x800;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      cp = b0 & 0x07;
      min = 0x10000;
    } else {
      return undefined;
    }
    if (i + need >= n) return undefined;
    for (let k = 1; k <= need; k++) {
      const b = bytes[i + k];
      if (b === undefined || (b & 0xc0) !== 0x80) return undefined;
      cp = (cp << 6) | (b & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return undefined;
    out += String.fromCodePoint(cp);
    i += need + 1;
  }
  return out;
}

/** Decodes bytes as UTF-8 where they form valid sequences, else one U+0080..U+00FF char per byte. */
export function decodeUtf8OrLatin1(bytes: readonly number[]): string {
  const strict = decodeUtf8(bytes);
  if (strict !== undefined) return strict;
  let out = "";
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}

/**
 * The UTF-8 bytes of a string as a string of char codes 0..255, one per byte (the string itself
 * when it is ASCII, so the common case copies nothing): lets a port of Go code that indexes bytes
 * use charCodeAt. A lone surrogate becomes U+FFFD, as TextEncoder (and Go) would have it.
 */
export function utf8ByteString(text: string): string {
  let i = 0;
  while (i < text.length && text.charCodeAt(i) < 0x80) i++;
  if (i === text.length) return text;
  let out = text.slice(0, i);
  for (; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    if (cp < 0x80) out += String.fromCharCode(cp);
    else if (cp < 0x800) out += String.fromCharCode(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) {
      out += String.fromCharCode(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    } else {
      out += String.fromCharCode(
        0xf0 | (cp >> 18),
        0x80 | ((cp >> 12) & 63),
        0x80 | ((cp >> 6) & 63),
        0x80 | (cp & 63),
      );
    }
  }
  return out;
}

/** UTF-8 bytes of a string; a lone surrogate becomes U+FFFD, as TextEncoder (and Go) would have it. */
export function encodeUtf8(text: string): number[] {
  const b = utf8ByteString(text);
  const bytes: number[] = [];
  for (let i = 0; i < b.length; i++) bytes.push(b.charCodeAt(i));
  return bytes;
}
