/**
 * flannelctl's common options: how to reach the store, exactly as flanneld takes them (the same
 * flag names, defaults and FLANNELD_* variables, from src/cli/flanneld-flags.ts), plus `-o`
 * (table or json) and `-version`. Common flags may be given before the subcommand (Go style) or
 * anywhere among its arguments (as kubectl allows), e.g. `flannelctl leases -o json`.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { UsageError } from '../errors.js';
import {
  applyEnvironment,
  flagBool,
  flagNumber,
  flagString,
  invalidValueError,
  parseFlags,
  type FlagSpec,
  type ParsedFlags,
} from '../cli/flag-parser.js';
import { FLANNELD_ENV_PREFIX, FLANNELD_FLAGS } from '../cli/flanneld-flags.js';

export type OutputFormat = 'table' | 'json';

export interface CtlOptions {
  /** true: the Kubernetes API is the store (-kube-subnet-mgr), else etcd. */
  readonly kubeSubnetMgr: boolean;
  readonly etcd: {
    readonly endpoints: readonly string[];
    readonly prefix: string;
    readonly keyFile: string | undefined;
    readonly certFile: string | undefined;
    readonly caFile: string | undefined;
    readonly username: string | undefined;
    readonly password: string | undefined;
  };
  readonly kube: {
    readonly apiUrl: string | undefined;
    readonly kubeconfigFile: string | undefined;
    readonly annotationPrefix: string;
    /** Where flanneld reads net-conf.json in kube mode. */
    readonly netConfigPath: string;
  };
  /** -subnet-file: subnet.env (docker-opts, status). */
  readonly subnetFile: string;
  /** -subnet-lease-renew-margin, minutes: when a live etcd host renews (leases gc). */
  readonly renewMarginMin: number;
  /** -healthz-ip as given (0.0.0.0 / :: mean "this host": status connects to loopback then). */
  readonly healthzIp: string;
  /** -healthz-port; 0 = not given (status says so). */
  readonly healthzPort: number;
  readonly output: OutputFormat;
  readonly version: boolean;
}

/** The flanneld flags flannelctl shares: store access, subnet.env, renew margin, health port. */
const SHARED = [
  'etcd-endpoints',
  'etcd-prefix',
  'etcd-keyfile',
  'etcd-certfile',
  'etcd-cafile',
  'etcd-username',
  'etcd-password',
  'kube-subnet-mgr',
  'kube-api-url',
  'kubeconfig-file',
  'kube-annotation-prefix',
  'net-config-path',
  'subnet-file',
  'subnet-lease-renew-margin',
  'healthz-ip',
  'healthz-port',
] as const;

const OWN: readonly FlagSpec[] = [
  { name: 'o', kind: 'string', default: 'table', help: 'output format: `table` (for people) or json (for scripts)' },
  { name: 'version', kind: 'bool', default: false, help: 'print version and exit' },
];

export const COMMON_FLAGS: readonly FlagSpec[] = Object.freeze([
  ...SHARED.map((name) => {
    const spec = FLANNELD_FLAGS.find((s) => s.name === name);
    if (spec === undefined) throw new TypeError(`flanneld has no flag -${name}`);
    return spec;
  }),
  ...OWN,
]);

const BY_NAME = new Map(COMMON_FLAGS.map((s) => [s.name, s]));

/**
 * Splits flannelctl's argv into the common flags' tokens and the rest. Before the subcommand
 * the first non-flag ends the flags (Go's flag package); after it, common flags are taken out
 * wherever they occur (up to `--`), the rest left in order for the subcommand's own parser.
 * -h/-help before the subcommand is kept in the common part (global usage).
 */
export function splitArgv(argv: readonly string[]): { common: string[]; command: string | undefined; rest: string[] } {
  const head = parseFlags(COMMON_FLAGS, argv); // throws on a bad or unknown flag before the subcommand
  const used = argv.length - head.args.length;
  const common = argv.slice(0, used);
  if (head.help) return { common, command: undefined, rest: [...head.args] };
  const [command, ...after] = head.args;
  const rest: string[] = [];
  for (let i = 0; i < after.length; i++) {
    const arg = after[i] ?? '';
    if (arg === '--') {
      rest.push(...after.slice(i));
      break;
    }
    const name = flagName(arg);
    const spec = name === undefined ? undefined : BY_NAME.get(name);
    if (spec === undefined) {
      rest.push(arg);
      continue;
    }
    common.push(arg);
    if (spec.kind !== 'bool' && !arg.includes('=') && i + 1 < after.length) common.push(after[++i] ?? '');
  }
  return { common, command, rest };
}

function flagName(arg: string): string | undefined {
  if (arg.length < 2 || !arg.startsWith('-')) return undefined;
  const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
  const eq = body.indexOf('=');
  return eq < 0 ? body : body.slice(0, eq);
}

/** Parses the common tokens and FLANNELD_* into CtlOptions. Throws UsageError naming the flag and value. */
export function parseCtlOptions(common: readonly string[], env: Readonly<Record<string, string | undefined>>): CtlOptions {
  const fromArgv = parseFlags(COMMON_FLAGS, common);
  const p = applyEnvironment(COMMON_FLAGS, fromArgv, env, FLANNELD_ENV_PREFIX, ['o', 'version']);
  const output = flagString(p, 'o');
  if (output !== 'table' && output !== 'json') fail(p, 'o', output, 'must be table or json');
  const endpointsText = flagString(p, 'etcd-endpoints');
  const endpoints = endpointsText.split(',');
  if (endpoints.some((e) => e.trim() === '')) fail(p, 'etcd-endpoints', endpointsText, 'empty endpoint in the list');
  const healthzIp = flagString(p, 'healthz-ip');
  if (healthzIp !== '' && !isIPv4(healthzIp) && !(isIPv6(healthzIp) && !healthzIp.includes('%'))) fail(p, 'healthz-ip', healthzIp, 'not an IP address');
  const healthzPort = flagNumber(p, 'healthz-port');
  if (healthzPort < 0 || healthzPort > 65535) fail(p, 'healthz-port', raw(p, 'healthz-port'), 'must be a TCP port between 0 and 65535');
  const margin = flagNumber(p, 'subnet-lease-renew-margin');
  if (margin < 1 || margin > 1439) fail(p, 'subnet-lease-renew-margin', raw(p, 'subnet-lease-renew-margin'), 'must be minutes between 1 and 1439');
  return Object.freeze({
    kubeSubnetMgr: flagBool(p, 'kube-subnet-mgr'),
    etcd: Object.freeze({
      endpoints: Object.freeze(endpoints),
      prefix: flagString(p, 'etcd-prefix'),
      keyFile: optional(p, 'etcd-keyfile'),
      certFile: optional(p, 'etcd-certfile'),
      caFile: optional(p, 'etcd-cafile'),
      username: optional(p, 'etcd-username'),
      password: optional(p, 'etcd-password'),
    }),
    kube: Object.freeze({
      apiUrl: optional(p, 'kube-api-url'),
      kubeconfigFile: optional(p, 'kubeconfig-file'),
      annotationPrefix: flagString(p, 'kube-annotation-prefix'),
      netConfigPath: flagString(p, 'net-config-path'),
    }),
    subnetFile: flagString(p, 'subnet-file'),
    renewMarginMin: margin,
    healthzIp,
    healthzPort,
    output,
    version: flagBool(p, 'version'),
  });
}

function optional(p: ParsedFlags, flag: string): string | undefined {
  const v = flagString(p, flag);
  return v === '' ? undefined : v;
}

function raw(p: ParsedFlags, flag: string): string {
  return p.origins.get(flag)?.raw ?? String(p.values.get(flag));
}

function fail(p: ParsedFlags, flag: string, value: string, reason: string): never {
  throw invalidValueError(flag, p.origins.get(flag), value, reason);
}

/** Thrown by a subcommand for bad input it parsed itself (a positional argument). */
export function badArgument(what: string, value: string, reason: string): UsageError {
  return new UsageError(what, `invalid ${what} ${JSON.stringify(value)}: ${reason}`);
}
