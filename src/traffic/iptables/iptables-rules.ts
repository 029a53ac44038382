/**
 * flannel's iptables rules, rendered by pure functions into the exact text iptables-save prints
 * (so that what is read back compares equal) and into iptables-restore input.
 * Same chains, order, matches and comments as flannel's pkg/trafficmngr/iptables/iptables.go.
 */
import type { ForwardSpec, MasqSpec } from '../traffic-spec.js';
import { MULTICAST } from '../traffic-spec.js';

export type IptablesTable = 'nat' | 'filter';

export const POSTRTG_CHAIN = 'FLANNEL-POSTRTG';
export const FWD_CHAIN = 'FLANNEL-FWD';
export const MASQ_COMMENT = 'flanneld masq';
export const FWD_COMMENT = 'flanneld forward';
/** Our chains, by table, with the built-in chain that jumps to each. */
export const OWN_CHAINS: readonly { table: IptablesTable; chain: string; hook: string; comment: string }[] = [
  { table: 'nat', chain: POSTRTG_CHAIN, hook: 'POSTROUTING', comment: MASQ_COMMENT },
  { table: 'filter', chain: FWD_CHAIN, hook: 'FORWARD', comment: FWD_COMMENT },
];

/** One rule: chain plus its match/target arguments (as iptables takes them, unquoted). */
export interface IptablesRule {
  readonly chain: string;
  readonly args: readonly string[];
}

/** A chain of ours: its rules in order, and the jump from the built-in chain into it. */
export interface ChainSpec {
  readonly table: IptablesTable;
  readonly chain: string;
  readonly jump: IptablesRule;
  readonly rules: readonly IptablesRule[];
}

const comment = (text: string) => ['-m', 'comment', '--comment', text];

function markArg(mark: number): string {
  const hex = `0x${mark.toString(16)}`;
  return `${hex}/${hex}`;
}

/**
 * nat FLANNEL-POSTRTG, jumped to from POSTROUTING:
 *  1. return for kube-proxy's masquerade mark (no double NAT),
 *  2./3. return for this host's pods to the cluster and the cluster to this host's pods,
 *  4. return for traffic from outside to this host's pods (keeps the client address),
 *  5. masquerade cluster traffic leaving the network (not multicast),
 *  6. masquerade traffic from outside the network into it (host to remote pods).
 */
export function masqChain(spec: MasqSpec, randomFully: boolean): ChainSpec {
  const net = spec.network.toString();
  const sub = spec.subnet.toString();
  const c = comment(MASQ_COMMENT);
  const masq = randomFully ? ['-j', 'MASQUERADE', '--random-fully'] : ['-j', 'MASQUERADE'];
  const rule = (...args: string[]): IptablesRule => ({ chain: POSTRTG_CHAIN, args });
  return {
    table: 'nat',
    chain: POSTRTG_CHAIN,
    jump: { chain: 'POSTROUTING', args: [...c, '-j', POSTRTG_CHAIN] },
    rules: [
      rule('-m', 'mark', '--mark', markArg(spec.kubeProxyMark), ...c, '-j', 'RETURN'),
      rule('-s', sub, '-d', net, ...c, '-j', 'RETURN'),
      rule('-s', net, '-d', sub, ...c, '-j', 'RETURN'),
      rule('!', '-s', net, '-d', sub, ...c, '-j', 'RETURN'),
      rule('-s', net, '!', '-d', MULTICAST[spec.family], ...c, ...masq),
      rule('!', '-s', net, '-d', net, ...c, ...masq),
    ],
  };
}

/** filter FLANNEL-FWD, jumped to from FORWARD: accept from and to the cluster network. */
export function forwardChain(spec: ForwardSpec): ChainSpec {
  const net = spec.network.toString();
  const c = comment(FWD_COMMENT);
  return {
    table: 'filter',
    chain: FWD_CHAIN,
    jump: { chain: 'FORWARD', args: [...c, '-j', FWD_CHAIN] },
    rules: [
      { chain: FWD_CHAIN, args: ['-s', net, ...c, '-j', 'ACCEPT'] },
      { chain: FWD_CHAIN, args: ['-d', net, ...c, '-j', 'ACCEPT'] },
    ],
  };
}

/** Quotes an argument the way iptables-save does (and iptables-restore reads back). */
export function quoteArg(arg: string): string {
  if (arg !== '' && /^[^\s"'\\]+$/.test(arg)) return arg;
  return `"${arg.replace(/(["\\])/g, '\\$1')}"`;
}

/** `-A CHAIN args...` exactly as iptables-save prints it (op may be -D to delete). */
export function ruleLine(rule: IptablesRule, op: '-A' | '-D' = '-A'): string {
  return [op, rule.chain, ...rule.args].map(quoteArg).join(' ');
}

/** iptables-restore input: one `*table` block per table, each ending in COMMIT. */
export function renderRestore(blocks: ReadonlyMap<IptablesTable, readonly string[]>): string {
  let out = '';
  for (const [table, lines] of blocks) {
    if (lines.length === 0) continue;
    out += `*${table}\n${lines.join('\n')}\nCOMMIT\n`;
  }
  return out;
}
