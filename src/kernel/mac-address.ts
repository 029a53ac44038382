import { AddressParseError } from '../errors.js';

/** The value of one hex digit's char code, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

/**
 * Parses "aa:bb:cc:dd:ee:ff" (or with '-'; one or two hex digits a byte; blanks around it
 * ignored) into 6 bytes at `out[at]`, without allocating. Throws AddressParseError.
 */
export function writeMac(text: string, out: Uint8Array, at: number): void {
  const t = text.trim();
  const end = t.length;
  let part = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i <= end; i++) {
    const c = i < end ? t.charCodeAt(i) : -1;
    if (c === -1 || c === 58 || c === 45) {
      // end of a part (':' or '-' or the end)
      if (digits === 0 || part >= 6) throw macError(text);
      out[at + part] = value;
      part++;
      digits = 0;
      value = 0;
      continue;
    }
    const v = hexValue(c);
    if (v < 0 || digits === 2) throw macError(text);
    value = (value << 4) | v;
    digits++;
  }
  if (part !== 6) throw macError(text);
}

function macError(text: string): AddressParseError {
  return new AddressParseError(text, 'not a MAC address (aa:bb:cc:dd:ee:ff)');
}

/** Parses "aa:bb:cc:dd:ee:ff" (or with '-') into 6 bytes. */
export function parseMac(text: string): Buffer {
  const out = Buffer.allocUnsafe(6);
  writeMac(text, out, 0);
  return out;
}

const HEX_BYTES = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** Formats link-layer bytes (those from `start` to `end`) as lower-case colon-separated hex, as `ip` prints them. */
export function formatMac(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += i === start ? HEX_BYTES[bytes[i] as number] : `:${HEX_BYTES[bytes[i] as number]}`;
  return s;
}

const CANONICAL_MAC = /^[\da-f]{2}(?::[\da-f]{2}){5}$/;

/**
 * Canonical text of a MAC (lower case, two digits per byte), for comparing. Text already in
 * that form (as flannel writes VtepMAC) is returned as it is: 5,000 leases make no garbage.
 */
export function normalizeMac(text: string): string {
  return CANONICAL_MAC.test(text) ? text : formatMac(parseMac(text));
}
