/**
 * flanneld's command line and FLANNELD_* environment, validated into one frozen options object.
 *
 * Order as in Go flannel: parse argv (the first bad argument is an error; -h/-help stops there),
 * then -version, then the environment for flags not given on the command line (flagutil), then
 * validation. Stricter than Go where Go would go on with a wrong value: a bad FLANNELD_* value,
 * a stray positional argument and the range checks below are UsageErrors.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { UsageError } from '../errors.js';
import {
  applyEnvironment,
  flagBool,
  flagList,
  flagNumber,
  flagString,
  formatUsage,
  invalidValueError,
  parseFlags,
  type ParsedFlags,
} from './flag-parser.js';
import { formatGoDuration } from './go-values.js';
import {
  FLANNELD_ENV_PREFIX,
  FLANNELD_FLAGS,
  FLANNELD_PROGRAM,
  MAX_SUBNET_LEASE_TTL_MS,
  MIN_SUBNET_LEASE_TTL_MS,
} from './flanneld-flags.js';

export interface FlanneldOptions {
  /** -etcd-endpoints split on ",". */
  readonly etcdEndpoints: readonly string[];
  readonly etcdPrefix: string;
  /** Empty flag values ("", Go's "not set") become undefined. */
  readonly etcdKeyfile: string | undefined;
  readonly etcdCertfile: string | undefined;
  readonly etcdCaFile: string | undefined;
  readonly etcdUsername: string | undefined;
  readonly etcdPassword: string | undefined;

  readonly kubeSubnetMgr: boolean;
  readonly kubeApiUrl: string | undefined;
  readonly kubeconfigFile: string | undefined;
  readonly kubeAnnotationPrefix: string;
  readonly netConfigPath: string;
  readonly setNodeNetworkUnavailable: boolean;
  readonly useMultiClusterCidr: boolean;
  readonly persistentMac: boolean;

  /** -iface values in order (names or IPs). */
  readonly ifaces: readonly string[];
  /** -iface-regex values in order; each compiles as a JS RegExp (compile again where used). */
  readonly ifaceRegexes: readonly string[];
  /** An IPv4 or IPv6 address. */
  readonly ifaceCanReach: string | undefined;
  /** An IPv4 address. */
  readonly publicIp: string | undefined;
  /** An IPv6 address. */
  readonly publicIpv6: string | undefined;

  readonly subnetFile: string;
  /** 1..1439 minutes. */
  readonly subnetLeaseRenewMarginMin: number;
  /** Whole seconds, longer than the renew margin (so >= 61 s), at most 576 h. */
  readonly subnetLeaseTtlMs: number;

  readonly ipMasq: boolean;
  /** >= 1 second. */
  readonly iptablesResyncSec: number;
  readonly iptablesForwardRules: boolean;

  /** An IP address, or '' for all addresses (Go listens on ":port" then). */
  readonly healthzIp: string;
  /** 0 = no healthz server. */
  readonly healthzPort: number;
  /** klog's -v. */
  readonly verbosity: number;
  readonly vmodule: string | undefined;
  readonly logBacktraceAt: string | undefined;
  /** flannel-ts: remove what flannel made on this host and exit. */
  readonly cleanup: boolean;
}

export interface HelpRequest {
  readonly help: true;
  readonly usage: string;
}

export interface VersionRequest {
  readonly version: true;
}

/** Usage text for flanneld: "Usage of flanneld:" then every flag as Go's PrintDefaults shows it. */
export function flanneldUsage(): string {
  return formatUsage(FLANNELD_PROGRAM, FLANNELD_FLAGS);
}

/**
 * Parse flanneld's arguments (argv without the program name) and environment.
 * Throws UsageError naming the flag (or FLANNELD_* variable) and the value.
 * Narrow the result with `'help' in r` / `'version' in r`.
 */
export function parseFlanneldOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): FlanneldOptions | HelpRequest | VersionRequest {
  const fromArgv = parseFlags(FLANNELD_FLAGS, argv);
  if (fromArgv.help) return Object.freeze({ help: true, usage: flanneldUsage() });
  // Go flannel checks -version before reading the environment, so FLANNELD_VERSION does nothing.
  if (flagBool(fromArgv, 'version')) return Object.freeze({ version: true });
  const stray = fromArgv.args[0];
  if (stray !== undefined) {
    throw new UsageError(stray, `unexpected argument ${JSON.stringify(stray)}: ${FLANNELD_PROGRAM} takes only flags`);
  }
  const p = applyEnvironment(FLANNELD_FLAGS, fromArgv, env, FLANNELD_ENV_PREFIX, ['version']);
  return Object.freeze(buildOptions(p));
}

function buildOptions(p: ParsedFlags): FlanneldOptions {
  const margin = intInRange(p, 'subnet-lease-renew-margin', 1, 24 * 60 - 1, 'minutes');
  const ttlMs = leaseTtl(p);
  return {
    etcdEndpoints: endpoints(p),
    etcdPrefix: flagString(p, 'etcd-prefix'),
    etcdKeyfile: optional(p, 'etcd-keyfile'),
    etcdCertfile: optional(p, 'etcd-certfile'),
    etcdCaFile: optional(p, 'etcd-cafile'),
    etcdUsername: optional(p, 'etcd-username'),
    etcdPassword: optional(p, 'etcd-password'),
    kubeSubnetMgr: flagBool(p, 'kube-subnet-mgr'),
    kubeApiUrl: optional(p, 'kube-api-url'),
    kubeconfigFile: optional(p, 'kubeconfig-file'),
    kubeAnnotationPrefix: flagString(p, 'kube-annotation-prefix'),
    netConfigPath: flagString(p, 'net-config-path'),
    setNodeNetworkUnavailable: flagBool(p, 'set-node-network-unavailable'),
    useMultiClusterCidr: flagBool(p, 'use-multi-cluster-cidr'),
    persistentMac: flagBool(p, 'persistent-mac'),
    ifaces: flagList(p, 'iface'),
    ifaceRegexes: regexes(p),
    ifaceCanReach: address(p, 'iface-can-reach', 'any'),
    publicIp: address(p, 'public-ip', 4),
    publicIpv6: address(p, 'public-ipv6', 6),
    subnetFile: flagString(p, 'subnet-file'),
    subnetLeaseRenewMarginMin: margin,
    subnetLeaseTtlMs: ttlMs,
    ipMasq: flagBool(p, 'ip-masq'),
    iptablesResyncSec: intInRange(p, 'iptables-resync', 1, 2_147_483, 'seconds'),
    iptablesForwardRules: flagBool(p, 'iptables-forward-rules'),
    healthzIp: address(p, 'healthz-ip', 'any') ?? '',
    healthzPort: intInRange(p, 'healthz-port', 0, 65535, 'a TCP port'),
    verbosity: intInRange(p, 'v', 0, 2_147_483_647, 'a log level'),
    vmodule: optional(p, 'vmodule'),
    logBacktraceAt: optional(p, 'log_backtrace_at'),
    cleanup: flagBool(p, 'cleanup'),
  };
}

function fail(p: ParsedFlags, flag: string, value: string, reason: string): never {
  throw invalidValueError(flag, p.origins.get(flag), value, reason);
}

/** The flag's text as the user gave it, for messages. */
function rawText(p: ParsedFlags, flag: string, fallback: string): string {
  return p.origins.get(flag)?.raw ?? fallback;
}

function optional(p: ParsedFlags, flag: string): string | undefined {
  const v = flagString(p, flag);
  return v === '' ? undefined : v;
}

function intInRange(p: ParsedFlags, flag: string, min: number, max: number, what: string): number {
  const v = flagNumber(p, flag);
  if (v < min || v > max) fail(p, flag, rawText(p, flag, String(v)), `must be ${what} between ${min} and ${max}`);
  return v;
}

function endpoints(p: ParsedFlags): readonly string[] {
  const text = flagString(p, 'etcd-endpoints');
  const list = text.split(',');
  if (list.some((e) => e.trim() === '')) fail(p, 'etcd-endpoints', text, 'empty endpoint in the list');
  return Object.freeze(list);
}

function regexes(p: ParsedFlags): readonly string[] {
  const list = flagList(p, 'iface-regex');
  for (const source of list) {
    try {
      new RegExp(source);
    } catch (err) {
      fail(p, 'iface-regex', source, `not a valid regular expression: ${(err as Error).message}`);
    }
  }
  return list;
}

function address(p: ParsedFlags, flag: string, family: 4 | 6 | 'any'): string | undefined {
  const text = flagString(p, flag);
  if (text === '') return undefined;
  // Zones ("fe80::1%eth0") are refused, as by Go's net.ParseIP.
  const ok = family === 4 ? isIPv4(text) : family === 6 ? isIPv6(text) && !text.includes('%') : isIPv4(text) || (isIPv6(text) && !text.includes('%'));
  if (!ok) fail(p, flag, text, family === 'any' ? 'not an IP address' : `not an IPv${family} address`);
  return text;
}

function leaseTtl(p: ParsedFlags): number {
  const ms = flagNumber(p, 'subnet-lease-ttl');
  const shown = rawText(p, 'subnet-lease-ttl', formatGoDuration(ms));
  if (ms > MAX_SUBNET_LEASE_TTL_MS) {
    fail(p, 'subnet-lease-ttl', shown, `must be at most ${formatGoDuration(MAX_SUBNET_LEASE_TTL_MS)}`);
  }
  if (ms % 1000 !== 0) fail(p, 'subnet-lease-ttl', shown, 'must be a whole number of seconds (etcd lease TTLs are in seconds)');
  if (ms < MIN_SUBNET_LEASE_TTL_MS) {
    fail(p, 'subnet-lease-ttl', shown, `must be at least ${formatGoDuration(MIN_SUBNET_LEASE_TTL_MS)}`);
  }
  return ms;
}
