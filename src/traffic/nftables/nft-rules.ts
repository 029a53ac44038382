/**
 * flannel's nftables rules (pkg/trafficmngr/nftables), rendered by pure functions into `nft -f`
 * scripts. Tables `ip flannel-ipv4` / `ip6 flannel-ipv6`; chain `postrtg` (nat, postrouting,
 * priority srcnat) for masquerading, chain `forward` (filter, forward, priority filter) for
 * forwarding. A script adds the table and chains (no-ops when present), flushes the chains and
 * adds the rules: one atomic transaction, never a duplicate.
 *
 * Two deliberate differences from flannel's nftables rules, so that both modes have the
 * effect of flannel's iptables rules (CONTRACT: "masquerades traffic entering the network from
 * outside it"): the kube-proxy mark is matched as a bit (`meta mark & 0x4000 == 0x4000`, like
 * iptables' `--mark 0x4000/0x4000`; flannel's `meta mark 0x4000` misses marks with other bits
 * set), and rule 4 returns for `saddr != <cluster network> daddr <this subnet>` as iptables does
 * (flannel's `saddr != <subnet> daddr <network>` makes the last masquerade rule unreachable).
 */
import type { Family } from '../../ip/ip-address.js';
import type { ForwardSpec, MasqSpec } from '../traffic-spec.js';
import { MULTICAST } from '../traffic-spec.js';

export interface NftTable {
  readonly family: 'ip' | 'ip6';
  readonly name: string;
}

export const NFT_TABLES: Record<Family, NftTable> = {
  4: { family: 'ip', name: 'flannel-ipv4' },
  6: { family: 'ip6', name: 'flannel-ipv6' },
};

export const POSTRTG_CHAIN = 'postrtg';
export const FORWARD_CHAIN = 'forward';

/** A base chain of ours with its rules (rule text as `nft list` prints it). */
export interface NftChainSpec {
  readonly name: string;
  readonly type: 'nat' | 'filter';
  readonly hook: 'postrouting' | 'forward';
  /** Symbolic priority and its number (srcnat = 100, filter = 0). */
  readonly priority: 'srcnat' | 'filter';
  readonly priorityValue: number;
  readonly comment: string;
  readonly rules: readonly string[];
}

export function masqChain(spec: MasqSpec, randomFully: boolean): NftChainSpec {
  const f = NFT_TABLES[spec.family].family;
  const net = spec.network.toString();
  const sub = spec.subnet.toString();
  const masq = randomFully ? 'masquerade fully-random' : 'masquerade';
  const mark = `0x${spec.kubeProxyMark.toString(16)}`;
  return {
    name: POSTRTG_CHAIN,
    type: 'nat',
    hook: 'postrouting',
    priority: 'srcnat',
    priorityValue: 100,
    comment: 'chain to manage traffic masquerading by flannel',
    rules: [
      `meta mark & ${mark} == ${mark} return`,
      `${f} saddr ${sub} ${f} daddr ${net} return`,
      `${f} saddr ${net} ${f} daddr ${sub} return`,
      `${f} saddr != ${net} ${f} daddr ${sub} return`,
      `${f} saddr ${net} ${f} daddr != ${MULTICAST[spec.family]} ${masq}`,
      `${f} saddr != ${net} ${f} daddr ${net} ${masq}`,
    ],
  };
}

export function forwardChain(spec: ForwardSpec): NftChainSpec {
  const f = NFT_TABLES[spec.family].family;
  const net = spec.network.toString();
  return {
    name: FORWARD_CHAIN,
    type: 'filter',
    hook: 'forward',
    priority: 'filter',
    priorityValue: 0,
    comment: 'chain to accept flannel traffic',
    rules: [`${f} saddr ${net} accept`, `${f} daddr ${net} accept`],
  };
}

function quote(text: string): string {
  return `"${text.replace(/["\\]/g, '')}"`;
}

/** The `nft -f -` script that makes the family's table hold exactly these chains' rules. */
export function renderNftScript(family: Family, chains: readonly NftChainSpec[]): string {
  const t = NFT_TABLES[family];
  const at = `${t.family} ${t.name}`;
  const lines = [`add table ${at} { comment ${quote(`rules for ${t.name}`)} ; }`];
  for (const c of chains) {
    lines.push(
      `add chain ${at} ${c.name} { type ${c.type} hook ${c.hook} priority ${c.priority} ; comment ${quote(c.comment)} ; }`,
      `flush chain ${at} ${c.name}`,
      ...c.rules.map((r) => `add rule ${at} ${c.name} ${r}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Deletes both tables in one transaction; adding first makes it succeed when one is absent. */
export function renderNftCleanup(): string {
  const lines: string[] = [];
  for (const t of Object.values(NFT_TABLES)) lines.push(`add table ${t.family} ${t.name}`, `delete table ${t.family} ${t.name}`);
  return `${lines.join('\n')}\n`;
}

/** Checked with `nft -c` (never committed): does the kernel take `masquerade fully-random`? */
export function renderRandomFullyProbe(): string {
  return [
    'add table ip flannel-probe',
    'add chain ip flannel-probe masqueradeTest { type nat hook postrouting priority srcnat ; }',
    'add rule ip flannel-probe masqueradeTest ip saddr != 127.0.0.1 masquerade fully-random',
    '',
  ].join('\n');
}
