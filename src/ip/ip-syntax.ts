/**
 * Which texts are IPv4 and IPv6 addresses, by the same rules as node:net's isIPv4 and isIPv6
 * (the unit tests hold the two side by side), without loading node:net: the CNI plugin reads
 * addresses and runs once per pod verb, and node:net (with the streams it brings) was ~5 ms of
 * its ADD.
 *
 * IPv4: a dotted quad of decimal octets 0..255 without leading zeros.
 * IPv6: hextets of 1-4 hex digits separated by ':'; the last two may be one dotted quad; one
 * '::' may stand for one or more zero hextets (so with it at most 7 are written, without it
 * exactly 8); an optional zone after '%' of letters, digits, '-', '.' and ':'.
 */

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]\\d|\\d)';
const IPV4_RE = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
const HEXTET_RE = /^[0-9A-Fa-f]{1,4}$/;
const ZONE_RE = /^[0-9A-Za-z.:-]+$/;

export function isIPv4Text(text: string): boolean {
  return IPV4_RE.test(text);
}

export function isIPv6Text(text: string): boolean {
  let s = text;
  const percent = s.indexOf('%');
  if (percent >= 0) {
    if (!ZONE_RE.test(s.slice(percent + 1))) return false;
    s = s.slice(0, percent);
  }
  const gap = s.indexOf('::');
  if (gap >= 0 && s.indexOf('::', gap + 1) >= 0) return false;
  const head = gap >= 0 ? s.slice(0, gap) : s;
  const tail = gap >= 0 ? s.slice(gap + 2) : '';
  const headCount = countHextets(head, gap < 0);
  if (headCount < 0) return false;
  if (gap < 0) return headCount === 8;
  const tailCount = countHextets(tail, true);
  if (tailCount < 0) return false;
  return headCount + tailCount <= 7;
}

/**
 * How many hextets `part` writes (a final dotted quad counts two; '' is none), or -1 when it is
 * not a ':'-separated run of them. A dotted quad is allowed only when `quadAllowed`.
 */
function countHextets(part: string, quadAllowed: boolean): number {
  if (part === '') return 0;
  const groups = part.split(':');
  let count = 0;
  for (const [i, g] of groups.entries()) {
    if (HEXTET_RE.test(g)) count += 1;
    else if (quadAllowed && i === groups.length - 1 && IPV4_RE.test(g)) count += 2;
    else return -1;
  }
  return count;
}
