/**
 * Everything `flannelctl doctor` looks at, gathered once (doctor-gather.ts) and then only read by
 * the checks, which are pure functions of these facts: they unit-test without a kernel, a store
 * or tools. Raw tool output (iptables-save, nft -j) is kept as text and parsed by the checks with
 * the traffic managers' own parsers.
 */
import type { NetworkConfig } from '../../config/network-config.js';
import type { Family, IPAddress } from '../../ip/ip-address.js';
import type { InterfaceAddress } from '../../kernel/address.js';
import type { FdbEntry } from '../../kernel/fdb.js';
import type { Link } from '../../kernel/link.js';
import type { Neighbor } from '../../kernel/neighbor.js';
import type { Route } from '../../kernel/route.js';
import type { Lease } from '../../lease/lease.js';

/** A lease as the store lists it; kube mode also knows the node that holds it. */
export interface StoredLease {
  readonly lease: Lease;
  readonly nodeName?: string;
  /** etcd: seconds the lease has left as the store counts them (undefined: reservation, kube). */
  readonly ttlSeconds?: number;
  /** etcd: a key without a TTL (a reservation). */
  readonly reserved?: boolean;
}

export interface StoreFacts {
  readonly config?: NetworkConfig;
  /** Why the config could not be read or is invalid (as flanneld would say it). */
  readonly configError?: string;
  readonly leases?: readonly StoredLease[];
  readonly leasesError?: string;
  /** kube: nodes listed that stand for no lease, with why ("no IPv4 podCIDR", no annotations yet). */
  readonly skipped?: readonly { readonly node: string; readonly reason: string }[];
}

/** Who this host is, for finding its own lease. */
export interface HostIdentity {
  /** `-public-ip` / `-public-ipv6` as given to doctor (the agent's own flags). */
  readonly publicIP?: IPAddress;
  readonly publicIPv6?: IPAddress;
  /** kube mode: NODE_NAME. */
  readonly nodeName?: string;
}

export interface SubnetEnvFacts {
  readonly path: string;
  /** Its KEY=VALUE lines; undefined when it could not be read. */
  readonly vars?: ReadonlyMap<string, string>;
  /** Why it could not be read ("ENOENT: no such file or directory, open ..."). */
  readonly error?: string;
  readonly missing?: boolean;
}

/** A WireGuard device's state as its control (generic netlink or UAPI) reports it. */
export interface WgDeviceFacts {
  readonly implementation: 'kernel' | 'userspace';
  /** Base64. */
  readonly publicKey?: string;
  readonly listenPort: number;
  readonly peers: readonly { readonly publicKey: string; readonly endpoint?: string; readonly allowedIps: readonly string[]; readonly lastHandshakeSec: number }[];
}

/** The kernel state of this host's network namespace, from rtnetlink dumps. */
export interface KernelFacts {
  readonly links: readonly Link[];
  readonly addresses: readonly InterfaceAddress[];
  /** Main table, both families. */
  readonly routes: readonly Route[];
  readonly neighbors: readonly Neighbor[];
  readonly fdb: readonly FdbEntry[];
  /** By device name: the device's state, or why it could not be read. */
  readonly wireguard: ReadonlyMap<string, WgDeviceFacts | { readonly error: string }>;
}

/** Tool output per family: `iptables-save -t nat` + `-t filter` text, and in nftables mode `nft -j list table`. */
export interface FamilyRuleFacts {
  readonly iptablesSave?: string;
  readonly iptablesError?: string;
  readonly nftTable?: string;
  readonly nftError?: string;
}

export interface RuleFacts {
  readonly byFamily: Partial<Record<Family, FamilyRuleFacts>>;
}

/** A bound UDP socket (from /proc/net/udp and /proc/net/udp6). */
export interface UdpSocket {
  readonly ip: IPAddress;
  readonly port: number;
}

export interface DoctorFacts {
  /** When the facts were gathered (ms since the epoch): lease expiry is counted from it. */
  readonly gatheredAt?: number;
  readonly store: StoreFacts;
  readonly host: HostIdentity;
  readonly subnetEnv: SubnetEnvFacts;
  readonly kernel?: KernelFacts;
  readonly kernelError?: string;
  readonly rules?: RuleFacts;
  readonly udpSockets?: readonly UdpSocket[];
  readonly udpSocketsError?: string;
}
