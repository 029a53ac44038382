/**
 * flannel's Node annotations (pkg/subnet/kube/annotations.go) and the rules by which a host
 * publishes its lease through them (AcquireLease in pkg/subnet/kube/kube.go). Pure functions.
 */
import { UsageError } from '../../errors.js';
import { IPAddress } from '../../ip/ip-address.js';
import type { LeaseAttrs } from '../../lease/lease.js';

export interface AnnotationKeys {
  /** `<prefix>kube-subnet-manager`: "true" once the node's flanneld has published its lease. */
  readonly subnetKubeManaged: string;
  readonly backendData: string;
  readonly backendV6Data: string;
  readonly backendType: string;
  readonly publicIP: string;
  readonly publicIPv6: string;
  /** Set by operators: the public IP to publish instead of the detected one. */
  readonly publicIPOverwrite: string;
  readonly publicIPv6Overwrite: string;
}

export const DEFAULT_ANNOTATION_PREFIX = 'flannel.alpha.coreos.com';

/** flannel's check of the completed prefix (unanchored at the start, as in Go's MatchString). */
const PREFIX_RE = /(?:[a-z0-9_-]+\.)+[a-z0-9_-]+\/(?:[a-z0-9_-]+-)?$/;

/**
 * The annotation keys for `-kube-annotation-prefix`, completed as flannel does: no slash adds
 * "/", a prefix ending in neither "/" nor "-" gets "-" ("example.com/x" -> "example.com/x-backend-type").
 */
export function annotationKeys(prefix: string): AnnotationKeys {
  const slashes = prefix.split('/').length - 1;
  if (slashes > 1) throw new UsageError('kube-annotation-prefix', `-kube-annotation-prefix=${JSON.stringify(prefix)}: may contain at most one "/"`);
  let p = slashes === 0 ? `${prefix}/` : prefix;
  if (!p.endsWith('/') && !p.endsWith('-')) p += '-';
  if (!PREFIX_RE.test(p)) {
    throw new UsageError('kube-annotation-prefix', `-kube-annotation-prefix=${JSON.stringify(prefix)}: must look like fqdn/[0-9a-z-_]*`);
  }
  return Object.freeze({
    subnetKubeManaged: `${p}kube-subnet-manager`,
    backendData: `${p}backend-data`,
    backendV6Data: `${p}backend-v6-data`,
    backendType: `${p}backend-type`,
    publicIP: `${p}public-ip`,
    publicIPv6: `${p}public-ipv6`,
    publicIPOverwrite: `${p}public-ip-overwrite`,
    publicIPv6Overwrite: `${p}public-ipv6-overwrite`,
  });
}

/** Every key of `keys`, for projecting a Node's annotations down to flannel's. */
export function allKeys(keys: AnnotationKeys): string[] {
  return Object.values(keys) as string[];
}

/** Go's json.Marshal of a backend's data: compact, HTML-safe escapes; "null" when there is none. */
export function backendDataJSON(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A valid overwrite annotation of the family, or undefined (unset, empty or not an address of it). */
export function overwriteIP(annotations: Readonly<Record<string, string>>, key: string, family: 4 | 6): IPAddress | undefined {
  const text = annotations[key];
  if (!text) return undefined;
  const ip = IPAddress.tryParse(text);
  return ip && ip.family === family ? ip : undefined;
}

/**
 * The annotations this host publishes, as flannel's AcquireLease writes them: backend type,
 * backend data (the JSON as a string) and public IP, for IPv6 backend-v6-data and public-ipv6
 * (vxlan and wireguard with IPv6 data, host-gw and extension with an IPv6 address), and
 * kube-subnet-manager "true". A valid `public-ip(v6)-overwrite` replaces the published address.
 * Returns only the keys flannel would set; compare with the node's to patch only changes.
 */
export function desiredAnnotations(current: Readonly<Record<string, string>>, attrs: LeaseAttrs, keys: AnnotationKeys): Record<string, string> {
  const type = attrs.backendType ?? '';
  const bd = backendDataJSON(attrs.backendData);
  const v6bd = backendDataJSON(attrs.backendV6Data);
  const out: Record<string, string> = { [keys.backendType]: type };
  if ((type === 'vxlan' && bd !== 'null') || (type === 'wireguard' && bd !== 'null') || type !== 'vxlan') {
    out[keys.backendData] = bd;
    const ov = overwriteIP(current, keys.publicIPOverwrite, 4);
    out[keys.publicIP] = ov ? ov.toString() : (attrs.publicIP?.toString() ?? '0.0.0.0');
  }
  const has6 = attrs.publicIPv6 !== undefined;
  if (
    (type === 'vxlan' && v6bd !== 'null') ||
    (type === 'wireguard' && v6bd !== 'null' && has6) ||
    ((type === 'host-gw' || type === 'extension') && has6)
  ) {
    out[keys.backendV6Data] = v6bd;
    const ov6 = overwriteIP(current, keys.publicIPv6Overwrite, 6);
    const v6 = ov6?.toString() ?? attrs.publicIPv6?.toString();
    if (v6 !== undefined) out[keys.publicIPv6] = v6;
  }
  out[keys.subnetKubeManaged] = 'true';
  return out;
}

/** The entries of `desired` whose value differs from `current`: the body of a minimal patch. */
export function changedAnnotations(
  current: Readonly<Record<string, string>>,
  desired: Readonly<Record<string, string>>,
): Record<string, string> | undefined {
  const changed: Record<string, string> = {};
  let any = false;
  for (const [k, v] of Object.entries(desired)) {
    if (current[k] !== v) {
      changed[k] = v;
      any = true;
    }
  }
  return any ? changed : undefined;
}

/**
 * The backend data a node published before (its backend-data and backend-v6-data annotations,
 * parsed), for flannel's GetStoredMacAddresses: a missing or unparsable one is undefined.
 */
export function storedBackendData(annotations: Readonly<Record<string, string>>, keys: AnnotationKeys): { data?: unknown; v6Data?: unknown } {
  const parse = (text: string | undefined): unknown => {
    if (!text) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  };
  return { data: parse(annotations[keys.backendData]), v6Data: parse(annotations[keys.backendV6Data]) };
}
