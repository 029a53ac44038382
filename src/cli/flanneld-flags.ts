/**
 * flanneld's flags: the names and defaults of Go flannel's main.go (flannelFlags plus the klog
 * flags it copies: v, vmodule, log_backtrace_at), then flannel-ts's own -subnet-lease-ttl.
 * Help texts follow flannel's, shortened in places.
 */
import type { FlagSpec } from './flag-parser.js';

export const FLANNELD_PROGRAM = 'flanneld';
export const FLANNELD_ENV_PREFIX = 'FLANNELD';

/**
 * Longest subnet lease (flannel-ts): 576h = 24 days keeps the renewal timer (TTL minus margin)
 * under Node's 2^31 ms timer limit. The shortest is bounded by the renew margin instead.
 */
export const MAX_SUBNET_LEASE_TTL_MS = 576 * 3_600_000;
export const MIN_SUBNET_LEASE_TTL_MS = 5_000;

const TABLE: FlagSpec[] = [
  // etcd subnet manager
  { name: 'etcd-endpoints', kind: 'string', default: 'http://127.0.0.1:4001,http://127.0.0.1:2379', help: 'a comma-delimited list of etcd endpoints' },
  { name: 'etcd-prefix', kind: 'string', default: '/coreos.com/network', help: 'etcd prefix' },
  { name: 'etcd-keyfile', kind: 'string', default: '', help: 'SSL key file used to secure etcd communication' },
  { name: 'etcd-certfile', kind: 'string', default: '', help: 'SSL certification file used to secure etcd communication' },
  { name: 'etcd-cafile', kind: 'string', default: '', help: 'SSL Certificate Authority file used to secure etcd communication' },
  { name: 'etcd-username', kind: 'string', default: '', help: 'username for BasicAuth to etcd' },
  { name: 'etcd-password', kind: 'string', default: '', help: 'password for BasicAuth to etcd' },

  // Kubernetes subnet manager
  { name: 'kube-subnet-mgr', kind: 'bool', default: false, help: 'contact the Kubernetes API for subnet assignment instead of etcd.' },
  { name: 'kube-api-url', kind: 'string', default: '', help: 'Kubernetes API server URL; not needed when flannel runs in a pod.' },
  { name: 'kubeconfig-file', kind: 'string', default: '', help: 'kubeconfig file location; not needed when flannel runs in a pod.' },
  {
    name: 'kube-annotation-prefix',
    kind: 'string',
    default: 'flannel.alpha.coreos.com',
    help: 'Kubernetes annotation prefix. May contain one slash "/"; without one, "/" is appended.',
  },
  { name: 'net-config-path', kind: 'string', default: '/etc/kube-flannel/net-conf.json', help: 'path to the network configuration file' },
  { name: 'set-node-network-unavailable', kind: 'bool', default: true, help: 'set NodeNetworkUnavailable after ready' },
  { name: 'use-multi-cluster-cidr', kind: 'bool', default: false, help: 'use MultiClusterCIDR API (alpha; accepted, not implemented)' },
  { name: 'persistent-mac', kind: 'bool', default: false, help: 'keep MAC address of flannel.1 interface beyond reboots (alpha)' },

  // External interface
  {
    name: 'iface',
    kind: 'string-list',
    default: [],
    help: 'interface (IP or name) for inter-host communication. Repeat to try each in order; the first match wins.',
  },
  {
    name: 'iface-regex',
    kind: 'string-list',
    default: [],
    help: 'regex matched against interface names and IPs to pick the inter-host interface. Repeat to try each in order; tried after all -iface values.',
  },
  {
    name: 'iface-can-reach',
    kind: 'string',
    default: '',
    help: "pick the interface the kernel would use to reach this IP (as 'ip route get <ip-address>')",
  },
  { name: 'public-ip', kind: 'string', default: '', help: 'IP accessible by other nodes for inter-host communication' },
  { name: 'public-ipv6', kind: 'string', default: '', help: 'IPv6 accessible by other nodes for inter-host communication' },

  // Leases and subnet.env
  { name: 'subnet-file', kind: 'string', default: '/run/flannel/subnet.env', help: 'filename where env variables (subnet, MTU, ... ) will be written to' },
  { name: 'subnet-lease-renew-margin', kind: 'int', default: 60, help: 'subnet lease renewal margin, in minutes, ranging from 1 to 1439' },
  {
    name: 'subnet-lease-ttl',
    kind: 'duration',
    default: 24 * 3_600_000,
    help:
      'lifetime of a subnet lease in etcd (flannel-ts; Go flannel fixes it at 24h). Whole seconds (etcd lease ' +
      'TTLs are seconds), from 5s to 576h. The lease is renewed -subnet-lease-renew-margin before expiry, or ' +
      'after a third of its lifetime when the margin is longer than that.',
  },

  // Traffic rules
  { name: 'ip-masq', kind: 'bool', default: false, help: 'setup IP masquerade rule for traffic destined outside of overlay network' },
  { name: 'iptables-resync', kind: 'int', default: 5, help: 'resync period for iptables rules, in seconds' },
  { name: 'iptables-forward-rules', kind: 'bool', default: true, help: 'add default accept rules to FORWARD chain in iptables' },

  // Health, logging, version
  { name: 'healthz-ip', kind: 'string', default: '0.0.0.0', help: 'the IP address for healthz server to listen' },
  { name: 'healthz-port', kind: 'int', default: 0, help: 'the port for healthz server to listen (0 to disable)' },
  { name: 'v', kind: 'int', default: 0, help: 'log verbosity: messages logged at V(n) are printed when n <= this level' },
  { name: 'vmodule', kind: 'string', default: '', help: 'comma-separated pattern=N settings for per-file verbosity (accepted, stored)' },
  { name: 'log_backtrace_at', kind: 'string', default: '', help: 'when logging hits line file:N, emit a stack trace (accepted, stored)' },
  { name: 'version', kind: 'bool', default: false, help: 'print version and exit' },
  {
    name: 'cleanup',
    kind: 'bool',
    default: false,
    help: 'flannel-ts: remove the devices, routes and rules flannel made on this host (and -subnet-file), then exit',
  },
];

/** The table, frozen all the way down (a module-level value must not be mutable). */
export const FLANNELD_FLAGS: readonly FlagSpec[] = Object.freeze(
  TABLE.map((spec) => Object.freeze(spec.kind === 'string-list' ? { ...spec, default: Object.freeze([...spec.default]) } : spec)),
);
