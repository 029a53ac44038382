/**
 * The backend's UDP port, as far as one host can see it: a socket bound to it here (the kernel's
 * vxlan socket, WireGuard's, or flanneld's own for udp), and no INPUT rule on this host dropping
 * it. Whether the network between hosts passes it (cloud security groups, firewalls on the path,
 * the peer's own INPUT chain) cannot be seen from here: run doctor on the peer too, and see
 * docs/troubleshooting.md for a tcpdump on both ends.
 */
import { parseIptablesSave, splitRuleLine } from '../../../traffic/iptables/iptables-save.js';
import type { DoctorView } from '../doctor-view.js';
import { ok, problem, warning, type Finding } from '../finding.js';
import type { BackendModel } from '../backend-model.js';
import { chainPolicy } from './rule-check.js';

const CHECK = 'port';

/** Whether an INPUT rule's arguments match UDP to `port` (-p udp --dport N, or --dports with N). */
function matchesPort(args: readonly string[], port: number): boolean {
  const proto = args[args.indexOf('-p') + 1];
  if (!args.includes('-p') || proto !== 'udp') return false;
  for (const flag of ['--dport', '--dports']) {
    const i = args.indexOf(flag);
    if (i < 0) continue;
    const list = (args[i + 1] ?? '').split(',');
    if (list.some((p) => (p.includes(':') ? port >= Number(p.split(':')[0]) && port <= Number(p.split(':')[1]) : Number(p) === port))) return true;
  }
  return false;
}

export function checkPorts(v: DoctorView, model: BackendModel | undefined): Finding[] {
  if (!model || model.ports.length === 0 || !v.own) return [];
  const out: Finding[] = [];
  for (const p of model.ports) {
    const label = `udp/${p.port} (${p.what}, IPv${p.family})`;
    if (v.facts.udpSockets === undefined) {
      out.push(warning(CHECK, `${label}: sockets not read (${v.facts.udpSocketsError ?? 'unknown'})`, 'whether anything listens was not checked', 'run doctor on the host (it reads /proc/net/udp)'));
    } else if (!v.facts.udpSockets.some((s) => s.port === p.port)) {
      out.push(
        problem(
          CHECK,
          `${label}: nothing listens on this host`,
          'peers send their encapsulated traffic to this port: it is dropped here',
          model.type === 'udp' ? 'flanneld (udp backend) owns the socket: check that it runs' : 'the device opens the socket: check that it exists and is up (see the device findings), and restart flanneld',
        ),
      );
      continue;
    }
    const save = v.facts.rules?.byFamily[p.family]?.iptablesSave;
    if (save === undefined) {
      out.push(ok(CHECK, `${label}: a socket listens here (firewall rules not read; reachability from other hosts cannot be checked from here)`));
      continue;
    }
    const input = parseIptablesSave(save).get('filter')?.rules.get('INPUT') ?? [];
    const args = input.map(splitRuleLine);
    const block = args.find((a) => matchesPort(a, p.port) && ['DROP', 'REJECT'].includes(a[a.indexOf('-j') + 1] ?? ''));
    const accept = args.some((a) => matchesPort(a, p.port) && a[a.indexOf('-j') + 1] === 'ACCEPT');
    const policy = chainPolicy(save, 'filter', 'INPUT') ?? 'ACCEPT';
    const tool = p.family === 4 ? 'iptables' : 'ip6tables';
    if (block) {
      out.push(
        problem(
          CHECK,
          `${label}: this host's INPUT chain drops it: ${block.join(' ')}`,
          'peers\' tunnel packets are dropped on arrival: pods on other hosts cannot reach pods here',
          `${tool} -D ${block.slice(1).join(' ')} (and allow udp/${p.port} from the other hosts in the firewall configuration that made it)`,
        ),
      );
    } else if (policy !== 'ACCEPT' && !accept) {
      out.push(
        warning(
          CHECK,
          `${label}: INPUT policy ${policy} and no rule accepting udp/${p.port} found`,
          'unless a broader rule (ESTABLISHED, a source network) accepts it, peers\' tunnel packets are dropped here',
          `${tool} -I INPUT -p udp --dport ${p.port} -j ACCEPT (better: from the hosts' network only)`,
        ),
      );
    } else {
      out.push(ok(CHECK, `${label}: a socket listens here and INPUT does not drop it (the path from other hosts cannot be checked from here)`));
    }
  }
  return out;
}
