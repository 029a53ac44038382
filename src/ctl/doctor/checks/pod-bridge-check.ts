/**
 * The pods' side of this host: the CNI bridge cni0 (the flannel CNI plugin's default bridge) has
 * the lease's gateway address and FLANNEL_MTU, and every pod's host-side veth on it has that MTU.
 */
import type { KernelFacts } from '../doctor-facts.js';
import { linkNamed, type DoctorView } from '../doctor-view.js';
import { ok, problem, warning, type Finding } from '../finding.js';

const CHECK = 'pod-mtu';
export const CNI_BRIDGE = 'cni0';

export function checkPodBridge(v: DoctorView, bridgeName = CNI_BRIDGE): Finding[] {
  const k: KernelFacts | undefined = v.facts.kernel;
  if (!k) return [];
  const br = linkNamed(k, bridgeName);
  if (!br) return [ok(CHECK, `no ${bridgeName} bridge: no pod has started on this host yet (or the CNI config names another bridge)`)];
  const out: Finding[] = [];
  const mtu = v.env?.mtu;
  const own = v.own?.lease;
  for (const sub of [own?.subnet, own?.ipv6Subnet]) {
    if (!sub) continue;
    const mine = k.addresses.filter((a) => a.linkIndex === br.index && a.ip.family === sub.family && a.scope === 0);
    const gw = sub.firstHost;
    if (mine.length > 0 && !mine.some((a) => a.ip.equals(gw))) {
      out.push(
        problem(
          CHECK,
          `${bridgeName} has ${mine.map((a) => `${a.ip.toString()}/${a.prefixLength}`).join(', ')}, the lease wants ${gw.toString()}/${sub.prefixLength}`,
          'the host got another lease than the one its pods were started with (a re-installed node, a deleted lease): new pods fail with "cni0 already has an IP address different from ..." and old pods have addresses no host routes here',
          `drain the node's pods, then ip link del ${bridgeName} (the bridge plugin re-creates it with the right address for the next pod)`,
        ),
      );
    }
  }
  if (mtu === undefined) return out;
  if (br.mtu > mtu) {
    out.push(problem(CHECK, `${bridgeName} MTU ${br.mtu} is above FLANNEL_MTU ${mtu}`, 'packets from the host into pods (and pods with that MTU) can exceed what the tunnel carries: an MTU black hole for large packets', `re-create the pods (their veths get FLANNEL_MTU), or ip link set ${bridgeName} mtu ${mtu}`));
  }
  const veths = k.links.filter((l) => l.masterIndex === br.index && l.kind === 'veth');
  const big = veths.filter((l) => l.mtu > mtu);
  const small = veths.filter((l) => l.mtu < mtu);
  if (big.length > 0) {
    out.push(
      problem(
        CHECK,
        `${big.length} pod veth(s) on ${bridgeName} with MTU above FLANNEL_MTU ${mtu}: ${big.slice(0, 5).map((l) => `${l.name} (${l.mtu})`).join(', ')}${big.length > 5 ? ', ...' : ''}`,
        'those pods send packets larger than the tunnel carries to other hosts: ping works, large transfers (TLS, HTTP bodies) hang: an MTU black hole',
        'delete those pods so that they are re-created with FLANNEL_MTU (they were started before the MTU changed, or by a CNI config with its own mtu)',
      ),
    );
  }
  if (small.length > 0) {
    out.push(warning(CHECK, `${small.length} pod veth(s) on ${bridgeName} with MTU below FLANNEL_MTU ${mtu}: ${small.slice(0, 5).map((l) => `${l.name} (${l.mtu})`).join(', ')}`, 'they work, a little slower; they were started under another MTU', 're-create them when convenient'));
  }
  if (out.length === 0) out.push(ok(CHECK, `${bridgeName}: address of the lease, MTU ${br.mtu}; ${veths.length} pod veth(s), all MTU ${mtu}`));
  return out;
}
