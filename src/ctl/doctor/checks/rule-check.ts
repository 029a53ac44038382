/**
 * The masquerade and forward rules, read as the traffic managers read them (iptables-save parsed
 * by parseIptablesSave and compared chain by chain with chainDrift; nft -j parsed by
 * parseNftTable and compared with chainMatches), against what flanneld would write for this
 * host's lease. Masquerade rules are expected when subnet.env says FLANNEL_IPMASQ=true. Forward
 * rules are flanneld's default (-iptables-forward-rules); without them, FORWARD's policy decides.
 */
import { KUBE_PROXY_MARK_MASQ, type MasqSpec } from '../../../traffic/traffic-spec.js';
import type { Family } from '../../../ip/ip-address.js';
import type { IPNetwork } from '../../../ip/ip-network.js';
import { forwardChain, masqChain, type ChainSpec } from '../../../traffic/iptables/iptables-rules.js';
import { chainDrift, isDrifted, parseIptablesSave, type ChainDrift, type SavedTables } from '../../../traffic/iptables/iptables-save.js';
import { forwardChain as nftForwardChain, masqChain as nftMasqChain, NFT_TABLES } from '../../../traffic/nftables/nft-rules.js';
import { chainMatches, parseNftTable } from '../../../traffic/nftables/nft-state.js';
import type { FamilyRuleFacts } from '../doctor-facts.js';
import type { DoctorView } from '../doctor-view.js';
import { ok, problem, warning, type Finding } from '../finding.js';

const CHECK = 'rules';
const RESTORE_FIX =
  'a running flanneld restores its rules within -iptables-resync seconds (default 5); if they stay missing, flanneld is stopped or failing, or something keeps removing them (a firewall manager reloading, a script flushing the nat table)';

/** The built-in chain's policy from iptables-save text (":FORWARD DROP [0:0]"), or undefined. */
export function chainPolicy(saveText: string, table: string, chain: string): string | undefined {
  let inTable = false;
  for (const line of saveText.split('\n')) {
    if (line.startsWith('*')) inTable = line.slice(1).trim() === table;
    else if (inTable && line.startsWith(`:${chain} `)) return line.split(' ')[1];
  }
  return undefined;
}

/** The least drifted of the given variants of one chain (with and without --random-fully). */
function bestDrift(variants: readonly ChainSpec[], saved: SavedTables): ChainDrift {
  const drifts = variants.map((c) => chainDrift(c, saved));
  return drifts.find((d) => !isDrifted(d)) ?? drifts[0]!;
}

function describeDrift(d: ChainDrift, saved: SavedTables, tool: string): string {
  const t = d.spec.table;
  const has = saved.get(t)?.chains.has(d.spec.chain) ?? false;
  if (!has) return `${tool} -t ${t}: chain ${d.spec.chain} missing`;
  if (d.rewriteChain) return `${tool} -t ${t}: chain ${d.spec.chain} differs from flanneld's (${saved.get(t)?.rules.get(d.spec.chain)?.length ?? 0} rules, want ${d.spec.rules.length})`;
  return d.jumps === 0 ? `${tool} -t ${t}: no jump from ${d.spec.jump.chain} to ${d.spec.chain}` : `${tool} -t ${t}: ${d.jumps} jumps from ${d.spec.jump.chain} to ${d.spec.chain}, want 1`;
}

export function checkRules(v: DoctorView): Finding[] {
  const rules = v.facts.rules;
  const c = v.config;
  const own = v.own?.lease;
  // Without a lease flanneld has written no rules yet: nothing to compare.
  if (!rules || !c || !own) return [];
  const out: Finding[] = [];
  const fams: [Family, IPNetwork | undefined, IPNetwork | undefined][] = [
    [4, c.enableIPv4 ? c.network : undefined, own?.subnet],
    [6, c.enableIPv6 ? c.ipv6Network : undefined, own?.ipv6Subnet],
  ];
  for (const [family, network, subnet] of fams) {
    const f = rules.byFamily[family];
    if (!network || !f) continue;
    out.push(...(c.enableNFTables ? nftFindings(v, family, network, subnet, f) : iptablesFindings(v, family, network, subnet, f)));
  }
  return out;
}

function masqSpecOf(family: Family, network: IPNetwork, subnet: IPNetwork): MasqSpec {
  return { family, network, subnet, kubeProxyMark: KUBE_PROXY_MARK_MASQ, randomFully: undefined };
}

function iptablesFindings(v: DoctorView, family: Family, network: IPNetwork, subnet: IPNetwork | undefined, f: FamilyRuleFacts): Finding[] {
  const tool = family === 4 ? 'iptables' : 'ip6tables';
  if (f.iptablesSave === undefined) {
    return [warning(CHECK, `${tool}-save failed: ${f.iptablesError ?? 'no output'}`, 'the masquerade and forward rules were not checked', `run doctor as root where ${tool}-save is installed`)];
  }
  const saved = parseIptablesSave(f.iptablesSave);
  const out: Finding[] = [];
  if (v.env?.ipMasq === true && subnet) {
    const spec = masqSpecOf(family, network, subnet);
    const d = bestDrift([masqChain(spec, true), masqChain(spec, false)], saved);
    if (isDrifted(d)) {
      out.push(
        problem(
          CHECK,
          `masquerade (IPv${family}): ${describeDrift(d, saved, tool)}`,
          'FLANNEL_IPMASQ=true tells the CNI plugin not to masquerade: without these rules pod traffic leaves the cluster network with pod source addresses, and replies from outside never come back',
          RESTORE_FIX,
        ),
      );
    } else {
      out.push(ok(CHECK, `masquerade (IPv${family}): ${d.spec.chain} as flanneld writes it, jumped to from POSTROUTING`));
    }
  }
  const fwd = chainDrift(forwardChain({ family, network }), saved);
  const policy = chainPolicy(f.iptablesSave, 'filter', 'FORWARD') ?? 'ACCEPT';
  const present = saved.get('filter')?.chains.has(fwd.spec.chain) ?? false;
  if (!isDrifted(fwd)) {
    out.push(ok(CHECK, `forward (IPv${family}): ${fwd.spec.chain} accepts ${network.toString()}`));
  } else if (present || policy !== 'ACCEPT') {
    out.push(
      problem(
        CHECK,
        `forward (IPv${family}): ${describeDrift(fwd, saved, tool)}; FORWARD policy ${policy}`,
        policy === 'ACCEPT'
          ? 'flanneld\'s forward rules are half there: it was started with -iptables-forward-rules, and someone changed them'
          : `forwarded pod traffic falls through to the FORWARD policy ${policy} (Docker sets it to DROP): pods on other hosts are unreachable`,
        present ? RESTORE_FIX : `start flanneld with -iptables-forward-rules=true (the default), or: ${tool} -A FORWARD -s ${network.toString()} -j ACCEPT; ${tool} -A FORWARD -d ${network.toString()} -j ACCEPT`,
      ),
    );
  } else {
    out.push(ok(CHECK, `forward (IPv${family}): no flannel forward rules (-iptables-forward-rules=false?), FORWARD policy ACCEPT forwards pod traffic`));
  }
  return out;
}

function nftFindings(v: DoctorView, family: Family, network: IPNetwork, subnet: IPNetwork | undefined, f: FamilyRuleFacts): Finding[] {
  const t = NFT_TABLES[family];
  const name = `table ${t.family} ${t.name}`;
  const listed = f.nftTable !== undefined ? parseNftTable(f.nftTable) : new Map();
  const out: Finding[] = [];
  if (v.env?.ipMasq === true && subnet) {
    const spec = masqSpecOf(family, network, subnet);
    const have = listed.get('postrtg');
    const good = chainMatches(nftMasqChain(spec, true), have) || chainMatches(nftMasqChain(spec, false), have);
    if (!good) {
      const what = f.nftTable === undefined ? `${name} missing (${f.nftError ?? 'nft list failed'})` : have ? `${name}: chain postrtg differs from flanneld's` : `${name}: chain postrtg missing`;
      out.push(problem(CHECK, `masquerade (IPv${family}): ${what}`, 'FLANNEL_IPMASQ=true tells the CNI plugin not to masquerade: pod traffic leaving the cluster network keeps pod source addresses and replies never come back', RESTORE_FIX));
    } else {
      out.push(ok(CHECK, `masquerade (IPv${family}): ${name} chain postrtg as flanneld writes it`));
    }
  }
  if (chainMatches(nftForwardChain({ family, network }), listed.get('forward'))) {
    out.push(ok(CHECK, `forward (IPv${family}): ${name} chain forward accepts ${network.toString()}`));
  } else if (f.iptablesSave !== undefined && chainPolicy(f.iptablesSave, 'filter', 'FORWARD') === 'DROP') {
    out.push(
      problem(
        CHECK,
        `forward (IPv${family}): no flannel forward chain in ${name}, and iptables FORWARD policy DROP`,
        'forwarded pod traffic is dropped by the iptables FORWARD chain (Docker sets its policy to DROP)',
        'start flanneld with -iptables-forward-rules=true (the default)',
      ),
    );
  } else {
    out.push(ok(CHECK, `forward (IPv${family}): no flannel forward chain in ${name} (-iptables-forward-rules=false?), nothing found dropping forwarded traffic`));
  }
  return out;
}
