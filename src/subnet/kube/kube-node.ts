/**
 * What flannel needs of a Node: its name, pod CIDRs and flannel's annotations, projected out of
 * the API object (the rest of a Node, status and images, is dropped at once so that 5,000 nodes
 * cost little), and the lease a node's annotations stand for (nodeToLease in kube.go).
 */
import type { NetworkConfig } from '../../config/network-config.js';
import { MalformedInputError } from '../../errors.js';
import { IPNetwork } from '../../ip/ip-network.js';
import type { Lease } from '../../lease/lease.js';
import { overwriteIP, type AnnotationKeys } from './kube-annotations.js';

/** The projection of a Node that flannel uses. Immutable. */
export interface NodeInfo {
  readonly name: string;
  readonly resourceVersion: string;
  /** spec.podCIDRs, or [spec.podCIDR] when podCIDRs is empty (older clusters). */
  readonly podCIDRs: readonly string[];
  /** Only flannel's annotations (the keys of AnnotationKeys). */
  readonly annotations: Readonly<Record<string, string>>;
}

interface RawNode {
  metadata?: { name?: unknown; resourceVersion?: unknown; annotations?: unknown };
  spec?: { podCIDR?: unknown; podCIDRs?: unknown };
}

/** Projects a Node (JSON from a watch, or the client library's V1Node) to NodeInfo; undefined without a name. */
export function projectNode(obj: unknown, keys: readonly string[]): NodeInfo | undefined {
  if (obj === null || typeof obj !== 'object') return undefined;
  const n = obj as RawNode;
  const name = n.metadata?.name;
  if (typeof name !== 'string' || name === '') return undefined;
  const rv = n.metadata?.resourceVersion;
  const all = n.metadata?.annotations;
  const annotations: Record<string, string> = {};
  if (all !== null && typeof all === 'object') {
    for (const k of keys) {
      const v = (all as Record<string, unknown>)[k];
      if (typeof v === 'string') annotations[k] = v;
    }
  }
  const list = Array.isArray(n.spec?.podCIDRs) ? (n.spec.podCIDRs as unknown[]).filter((c): c is string => typeof c === 'string') : [];
  const single = n.spec?.podCIDR;
  const podCIDRs = list.length > 0 ? list : typeof single === 'string' && single !== '' ? [single] : [];
  return Object.freeze({ name, resourceVersion: typeof rv === 'string' ? rv : '', podCIDRs: Object.freeze(podCIDRs), annotations: Object.freeze(annotations) });
}

/** Whether two projections differ in anything flannel uses (the resource version aside). */
export function sameNodeInfo(a: NodeInfo | undefined, b: NodeInfo | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.podCIDRs.length !== b.podCIDRs.length || a.podCIDRs.some((c, i) => c !== b.podCIDRs[i])) return false;
  const ka = Object.keys(a.annotations);
  if (ka.length !== Object.keys(b.annotations).length) return false;
  return ka.every((k) => a.annotations[k] === b.annotations[k]);
}

export interface NodeSubnets {
  readonly v4: IPNetwork | undefined;
  readonly v6: IPNetwork | undefined;
}

/**
 * The node's pod CIDRs by family. As flannel: at most two (IPv4, IPv6 or one of each); a later
 * entry of a family replaces an earlier one. Throws a MalformedInputError naming the bad value.
 */
export function nodeSubnets(node: NodeInfo): NodeSubnets {
  if (node.podCIDRs.length > 2) {
    throw new MalformedInputError(`node ${JSON.stringify(node.name)}`, 'spec.podCIDRs', node.podCIDRs, 'at most one IPv4 and one IPv6 CIDR');
  }
  let v4: IPNetwork | undefined;
  let v6: IPNetwork | undefined;
  for (const text of node.podCIDRs) {
    let net: IPNetwork;
    try {
      net = IPNetwork.parse(text);
    } catch {
      throw new MalformedInputError(`node ${JSON.stringify(node.name)}`, 'spec.podCIDRs', text, 'not a CIDR');
    }
    if (net.family === 4) v4 = net;
    else v6 = net;
  }
  return { v4, v6 };
}

/** Whether the node has published its lease (`kube-subnet-manager: "true"`): only then is it a peer. */
export function isManaged(node: NodeInfo, keys: AnnotationKeys): boolean {
  return node.annotations[keys.subnetKubeManaged] === 'true';
}

function parseData(text: string | undefined): unknown {
  if (text === undefined || text === '') return undefined;
  return JSON.parse(text) ?? undefined;
}

/**
 * The lease a peer node stands for, or a reason why it stands for none (not managed, no pod
 * CIDR of an enabled family, a missing or bad public IP, backend data that is not JSON).
 * A valid `public-ip(v6)-overwrite` annotation wins over `public-ip(v6)`.
 */
export function nodeToLease(node: NodeInfo, keys: AnnotationKeys, config: NetworkConfig): { lease: Lease } | { skip: string } {
  if (!isManaged(node, keys)) return { skip: `no ${keys.subnetKubeManaged}: "true" annotation` };
  let nets: NodeSubnets;
  try {
    nets = nodeSubnets(node);
  } catch (err) {
    return { skip: (err as Error).message };
  }
  const a = node.annotations;
  let publicIP;
  let publicIPv6;
  let backendData: unknown;
  let backendV6Data: unknown;
  try {
    if (config.enableIPv4) {
      if (!nets.v4) return { skip: 'no IPv4 podCIDR' };
      publicIP = overwriteIP(a, keys.publicIPOverwrite, 4) ?? overwriteIP(a, keys.publicIP, 4);
      if (!publicIP) return { skip: `no valid IPv4 address in ${keys.publicIP} (${JSON.stringify(a[keys.publicIP] ?? '')})` };
      backendData = parseData(a[keys.backendData]);
    }
    if (config.enableIPv6) {
      if (!nets.v6) return { skip: 'no IPv6 podCIDR' };
      publicIPv6 = overwriteIP(a, keys.publicIPv6Overwrite, 6) ?? overwriteIP(a, keys.publicIPv6, 6);
      if (!publicIPv6) return { skip: `no valid IPv6 address in ${keys.publicIPv6} (${JSON.stringify(a[keys.publicIPv6] ?? '')})` };
      backendV6Data = parseData(a[keys.backendV6Data]);
    }
  } catch (err) {
    return { skip: `backend data is not JSON: ${(err as Error).message}` };
  }
  const type = a[keys.backendType];
  return {
    lease: {
      subnet: config.enableIPv4 ? nets.v4 : undefined,
      ipv6Subnet: config.enableIPv6 ? nets.v6 : undefined,
      attrs: { publicIP, publicIPv6, backendType: type ? type : undefined, backendData, backendV6Data },
      expiration: undefined,
    },
  };
}
