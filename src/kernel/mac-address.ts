import { AddressParseError } from '../errors.js';

/** Parses "aa:bb:cc:dd:ee:ff" (or with '-') into 6 bytes. */
export function parseMac(text: string): Buffer {
  const parts = text.trim().split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new AddressParseError(text, 'not a MAC address (aa:bb:cc:dd:ee:ff)');
  }
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

/** Formats link-layer bytes as lower-case colon-separated hex, as `ip` prints them. */
export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Canonical text of a MAC (lower case, two digits per byte), for comparing. */
export function normalizeMac(text: string): string {
  return formatMac(parseMac(text));
}
