/**
 * flannelctl reserve add|rm <subnet> [<ipv6-subnet>] [-public-ip <ip>] [-public-ipv6 <ip>]:
 * flannel's reservations, which are etcd keys `<prefix>/subnets/<ip>-<len>` without an etcd
 * lease (README "Leases in etcd"). No other host takes a reserved subnet; the host whose public
 * IP the reservation names uses it and keeps it without TTL. flannel's kube mode has none.
 */
import { flagString, type FlagSpec } from '../cli/flag-parser.js';
import { parseNetworkConfig } from '../config/network-config.js';
import { ConfigError, UsageError, errorMessage } from '../errors.js';
import { IPAddress } from '../ip/ip-address.js';
import { IPNetwork } from '../ip/ip-network.js';
import { knownBackendTypes } from '../backend/registry.js';
import { leaseFitsConfig } from '../subnet/subnet-allocator.js';
import { commandUsage, parseCommandArgs } from './command-flags.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CtlCommand, type CtlContext } from './ctl-context.js';
import { badArgument } from './ctl-options.js';
import { renderJSON } from './output.js';

const FLAGS: readonly FlagSpec[] = [
  { name: 'public-ip', kind: 'string', default: '', help: 'the IPv4 address of the host the subnet is reserved for (its -public-ip); required when the network has IPv4' },
  { name: 'public-ipv6', kind: 'string', default: '', help: 'the IPv6 address of that host (its -public-ipv6); required for an IPv6-only network' },
];

const USAGE = commandUsage('reserve', ['reserve add <subnet> [<ipv6-subnet>] -public-ip <ip> [-public-ipv6 <ip>]', 'reserve rm <subnet> [<ipv6-subnet>]'], FLAGS);

export const reserveCommand: CtlCommand = async (ctx, args, signal) => {
  const p = parseCommandArgs(FLAGS, args);
  if (p.help) {
    ctx.stdout(USAGE);
    return EXIT_OK;
  }
  const [verb, ...nets] = p.args;
  if (verb !== 'add' && verb !== 'rm') {
    ctx.stderr(`flannelctl reserve: ${verb === undefined ? 'missing the action' : `unknown action ${JSON.stringify(verb)}`} (add or rm)\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (ctx.options.kubeSubnetMgr) {
    ctx.stderr(
      'flannelctl reserve: not supported with -kube-subnet-mgr: flannel\'s kube mode has no reservations (a node\'s subnet is its spec.podCIDR, ' +
        'assigned by kube-controller-manager; set spec.podCIDR when creating the node to choose it)\n',
    );
    return EXIT_FAILURE;
  }
  if (nets.length === 0 || nets.length > 2) {
    ctx.stderr(`flannelctl reserve ${verb}: give one subnet, or one IPv4 and one IPv6 subnet for a dual-stack network\n${USAGE}`);
    return EXIT_USAGE;
  }
  const subnets = parseSubnets(nets);
  const store = await ctx.store(signal);
  const reservations = store.reservations;
  if (!reservations) throw new UsageError('reserve', 'this store has no reservations');
  if (verb === 'rm') {
    const r = await reservations.remove(subnets, signal);
    const msg: Record<typeof r.outcome, string> = {
      removed: `reservation ${r.key} removed`,
      'not-found': `no reservation ${r.key}`,
      'not-reserved': `${r.key} is a live lease (it has a TTL), not a reservation: left as it is`,
    };
    report(ctx, { action: 'rm', key: r.key, outcome: r.outcome }, msg[r.outcome]);
    return r.outcome === 'removed' ? EXIT_OK : EXIT_FAILURE;
  }

  // add: the subnets must be ones flanneld would accept as this network's lease.
  const stored = await store.getConfig(signal);
  if (!stored) {
    ctx.stderr(`flannelctl reserve add: no network config in ${store.kind} yet: set it first (flannelctl config set)\n`);
    return EXIT_FAILURE;
  }
  let config;
  try {
    config = parseNetworkConfig(stored.text, { knownBackends: knownBackendTypes() });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    ctx.stderr(`flannelctl reserve add: the stored network config is invalid: ${err.message}\n`);
    return EXIT_FAILURE;
  }
  if (!leaseFitsConfig(config, subnets)) {
    const want = [
      config.enableIPv4 ? `an IPv4 /${config.subnetLen} in [${config.subnetMin?.toString()}, ${config.subnetMax?.toString()}] of Network ${config.network?.toString()}` : undefined,
      config.enableIPv6 ? `an IPv6 /${config.ipv6SubnetLen} in [${config.ipv6SubnetMin?.toString()}, ${config.ipv6SubnetMax?.toString()}] of IPv6Network ${config.ipv6Network?.toString()}` : undefined,
    ].filter((s) => s !== undefined);
    throw badArgument('subnet', nets.join(' '), `not a subnet flanneld would lease in this network: need ${want.join(' and ')}`);
  }
  const publicIP = address(flagString(p, 'public-ip'), 'public-ip', 4);
  const publicIPv6 = address(flagString(p, 'public-ipv6'), 'public-ipv6', 6);
  if (config.enableIPv4 && !publicIP) throw new UsageError('public-ip', 'flannelctl reserve add: -public-ip is required: flanneld finds its reservation by its public IP');
  if (!config.enableIPv4 && !publicIPv6) throw new UsageError('public-ipv6', 'flannelctl reserve add: -public-ipv6 is required for an IPv6-only network');
  const r = await reservations.add(subnets, { publicIP, publicIPv6, backendType: undefined, backendData: undefined, backendV6Data: undefined }, signal);
  const holder = r.holder?.lease.attrs.publicIP?.toString() ?? r.holder?.lease.attrs.publicIPv6?.toString() ?? 'another host';
  const msg: Record<typeof r.outcome, string> = {
    created: `reserved ${r.key} for ${publicIP?.toString() ?? publicIPv6?.toString() ?? ''}`,
    converted: `${r.key} was the live lease of ${publicIP?.toString() ?? publicIPv6?.toString() ?? ''}: made permanent (no TTL)`,
    updated: `reservation ${r.key} rewritten`,
    taken: `${r.key} is leased by ${holder}: not reserved (remove that lease first, or pick another subnet)`,
  };
  report(ctx, { action: 'add', key: r.key, outcome: r.outcome, ...(r.outcome === 'taken' ? { holder } : {}) }, msg[r.outcome]);
  return r.outcome === 'taken' ? EXIT_FAILURE : EXIT_OK;
};

function report(ctx: CtlContext, json: Record<string, unknown>, text: string): void {
  if (ctx.options.output === 'json') ctx.stdout(renderJSON(json));
  else ctx.stdout(`${text}\n`);
}

/** One or two CIDRs, at most one per family, each with no host bits. */
function parseSubnets(texts: readonly string[]): { subnet: IPNetwork | undefined; ipv6Subnet: IPNetwork | undefined } {
  let subnet: IPNetwork | undefined;
  let ipv6Subnet: IPNetwork | undefined;
  for (const text of texts) {
    let net: IPNetwork;
    try {
      net = IPNetwork.parse(text, { strict: true });
    } catch (err) {
      throw badArgument('subnet', text, errorMessage(err));
    }
    if (net.family === 4) {
      if (subnet) throw badArgument('subnet', text, 'a second IPv4 subnet');
      subnet = net;
    } else {
      if (ipv6Subnet) throw badArgument('subnet', text, 'a second IPv6 subnet');
      ipv6Subnet = net;
    }
  }
  return { subnet, ipv6Subnet };
}

function address(text: string, flag: string, family: 4 | 6): IPAddress | undefined {
  if (text === '') return undefined;
  const ip = IPAddress.tryParse(text);
  if (!ip || ip.family !== family || ip.isUnspecified()) throw new UsageError(flag, `invalid value ${JSON.stringify(text)} for flag -${flag}: not an IPv${family} address`);
  return ip;
}
