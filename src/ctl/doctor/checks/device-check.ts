/**
 * The backend's devices against the lease and subnet.env: present, of the right kind, up, holding
 * the lease's network address, the MAC (vxlan) or public key and port (WireGuard) that the lease
 * publishes, an MTU equal to FLANNEL_MTU, and small enough for the underlay after encapsulation.
 * host-gw has no device: its FLANNEL_MTU is checked against the interface of the public IP.
 */
import type { Family } from '../../../ip/ip-address.js';
import type { Link } from '../../../kernel/link.js';
import type { Lease } from '../../../lease/lease.js';
import { normalizeMac } from '../../../kernel/mac-address.js';
import type { KernelFacts } from '../doctor-facts.js';
import { linkIndexed, linkNamed, type DoctorView } from '../doctor-view.js';
import { ok, problem, warning, type Finding } from '../finding.js';
import type { BackendModel, ExpectedDevice } from '../backend-model.js';

const CHECK = 'device';

function findDevice(k: KernelFacts, d: ExpectedDevice): Link | undefined {
  return linkNamed(k, d.name) ?? (d.pattern ? k.links.find((l) => d.pattern!.test(l.name) && l.kind !== undefined && d.kinds.includes(l.kind)) : undefined);
}

/** The interface that holds an address (the public IP's interface). */
function linkWithAddress(k: KernelFacts, ip: Lease['attrs']['publicIP']): Link | undefined {
  if (!ip) return undefined;
  const a = k.addresses.find((x) => x.ip.equals(ip));
  return a ? linkIndexed(k, a.linkIndex) : undefined;
}

function leaseMac(raw: unknown): string | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const mac = (raw as Record<string, unknown>)['VtepMAC'];
  if (typeof mac !== 'string') return undefined;
  try {
    return normalizeMac(mac);
  } catch {
    return undefined;
  }
}

function restartFix(): string {
  return 'restart flanneld on this host: it adopts the device and sets it right (a running agent repairs deleted objects, not changed attributes)';
}

export function checkDevices(v: DoctorView, model: BackendModel | undefined): Finding[] {
  const k = v.facts.kernel;
  const own = v.own?.lease;
  if (!k || !model || !own) return [];
  const envMtu = v.env?.mtu;
  if (model.devices.length === 0) return checkNoDevice(v, k, own, model);
  const out: Finding[] = [];
  for (const d of model.devices) {
    const link = findDevice(k, d);
    if (!link) {
      out.push(
        problem(
          CHECK,
          `device ${d.name} does not exist`,
          `the ${model.type} backend sends all traffic to other hosts' pods through it: nothing leaves this host`,
          'a running flanneld re-creates it within seconds; if it stays missing, flanneld is not running or failed (read its log)',
        ),
      );
      continue;
    }
    const before = out.length;
    if (link.kind === undefined || !d.kinds.includes(link.kind)) {
      out.push(problem(CHECK, `${link.name} is a ${link.kind ?? 'physical'} device, not ${d.kinds.join('/')}`, 'flanneld cannot use it', `delete it (ip link del ${link.name}) and restart flanneld`));
      continue;
    }
    if (model.vni !== undefined && link.vxlan && link.vxlan.vni !== model.vni) {
      out.push(problem(CHECK, `${link.name} has VNI ${link.vxlan.vni}, the config says ${model.vni}`, 'peers encapsulate with the configured VNI: this host drops their packets', restartFix()));
    }
    if (!link.up) out.push(problem(CHECK, `${link.name} is down`, 'nothing is sent or received through it', `ip link set ${link.name} up (flanneld does it on its next reconcile)`));
    for (const fam of d.families) {
      const sub = fam === 4 ? own.subnet : own.ipv6Subnet;
      if (!sub) continue;
      const bits = fam === 4 ? 32 : 128;
      const has = k.addresses.some((a) => a.linkIndex === link.index && a.ip.equals(sub.ip) && a.prefixLength === bits);
      if (!has) {
        out.push(
          problem(
            CHECK,
            `${link.name} lacks the address ${sub.ip.toString()}/${bits} of the lease ${sub.toString()}`,
            'replies from peers to this host\'s own address and traffic sourced from the tunnel use it',
            `ip addr add ${sub.ip.toString()}/${bits} dev ${link.name} (flanneld does it on its next reconcile)`,
          ),
        );
      }
    }
    if (model.type === 'vxlan') out.push(...vxlanIdentity(link, own, d.families[0] as Family));
    if (model.type === 'wireguard') out.push(...wireguardIdentity(k, link, own, d.families));
    out.push(...mtuFindings(k, link, d, envMtu));
    if (out.length === before) out.push(ok(CHECK, `${link.name}: ${link.kind}, up, MTU ${link.mtu}, address of the lease${link.hardwareAddr && model.type === 'vxlan' ? `, MAC ${link.hardwareAddr} as in the lease` : ''}`));
  }
  return out;
}

function vxlanIdentity(link: Link, own: Lease, fam: Family): Finding[] {
  const want = leaseMac(fam === 4 ? own.attrs.backendData : own.attrs.backendV6Data);
  const have = link.hardwareAddr?.toLowerCase();
  if (want === undefined || have === want.toLowerCase()) return [];
  return [
    problem(
      CHECK,
      `${link.name} MAC ${have ?? '(none)'}, the lease's VtepMAC ${want}`,
      'peers address this host\'s VTEP by the lease\'s MAC: the device drops frames for another MAC, so traffic from other hosts\' pods is lost',
      restartFix() + ' (it publishes the device\'s MAC in its lease again)',
    ),
  ];
}

function wireguardIdentity(k: KernelFacts, link: Link, own: Lease, fams: readonly Family[]): Finding[] {
  const state = k.wireguard.get(link.name);
  if (!state) return [];
  if ('error' in state) return [warning(CHECK, `${link.name}: cannot read the WireGuard state: ${state.error}`, 'its key, port and peers were not checked', 'run doctor as root in the host\'s network namespace')];
  const fam = fams.includes(6) && !fams.includes(4) ? 6 : fams.includes(6) && own.attrs.backendV6Data !== undefined ? 6 : 4;
  const raw = (fam === 6 ? own.attrs.backendV6Data : own.attrs.backendData) as Record<string, unknown> | undefined;
  const out: Finding[] = [];
  const key = raw?.['PublicKey'];
  if (typeof key === 'string' && state.publicKey !== undefined && key !== state.publicKey) {
    out.push(problem(CHECK, `${link.name} public key ${state.publicKey}, the lease's ${key}`, 'peers encrypt to the lease\'s key: their handshakes with this host fail', restartFix()));
  }
  const port = raw?.['Port'];
  if (typeof port === 'number' && port !== 0 && port !== state.listenPort) {
    out.push(problem(CHECK, `${link.name} listens on ${state.listenPort}, the lease says ${port}`, 'peers send to the lease\'s port', restartFix()));
  }
  return out;
}

function mtuFindings(k: KernelFacts, link: Link, d: ExpectedDevice, envMtu: number | undefined): Finding[] {
  const out: Finding[] = [];
  if (envMtu !== undefined && link.mtu < envMtu) {
    out.push(
      problem(
        CHECK,
        `${link.name} MTU ${link.mtu} is below FLANNEL_MTU ${envMtu}`,
        `pods send packets of up to ${envMtu} bytes (their interfaces get FLANNEL_MTU); larger than ${link.mtu} they are dropped at ${link.name} or need fragmenting: small packets (ping) pass while large transfers hang, an MTU black hole`,
        `ip link set ${link.name} mtu ${envMtu}, or restart flanneld (it sets the MTU when it adopts the device); set the backend's MTU option to change it for good`,
      ),
    );
  } else if (envMtu !== undefined && link.mtu > envMtu) {
    out.push(warning(CHECK, `${link.name} MTU ${link.mtu} is above FLANNEL_MTU ${envMtu}`, 'pods use the smaller one: nothing breaks, but subnet.env and the device disagree', 'restart flanneld so that both agree'));
  }
  const under = linkIndexed(k, link.vxlan?.deviceIndex);
  if (under && link.mtu + d.overhead > under.mtu) {
    out.push(
      problem(
        CHECK,
        `${link.name} MTU ${link.mtu} + ${d.overhead} bytes of encapsulation exceed ${under.name}'s MTU ${under.mtu}`,
        'full-size encapsulated packets do not fit the underlay and are dropped (an MTU black hole between hosts)',
        `lower the device MTU to ${under.mtu - d.overhead} (the backend's MTU option, or leave it unset so flanneld derives it), then restart flanneld and re-create pods`,
      ),
    );
  }
  return out;
}

/** host-gw and the backends without a device: FLANNEL_MTU against the interface of the public IP. */
function checkNoDevice(v: DoctorView, k: KernelFacts, own: Lease, model: BackendModel): Finding[] {
  const ext = linkWithAddress(k, own.attrs.publicIP) ?? linkWithAddress(k, own.attrs.publicIPv6);
  const mtu = v.env?.mtu;
  if (!ext) return [ok(CHECK, `backend ${model.type}: no device; the lease's public IP is not on this host (NAT or -public-ip), MTU not compared`)];
  if (mtu !== undefined && mtu > ext.mtu) {
    return [
      problem(
        CHECK,
        `FLANNEL_MTU ${mtu} is above ${ext.name}'s MTU ${ext.mtu}`,
        'pods send packets that do not fit the interface between hosts',
        'restart flanneld (it writes the interface\'s MTU), then re-create pods',
      ),
    ];
  }
  return [ok(CHECK, `backend ${model.type}: no tunnel device; FLANNEL_MTU ${mtu ?? '?'} fits ${ext.name} (MTU ${ext.mtu})`)];
}
