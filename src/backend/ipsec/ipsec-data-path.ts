import type { IPAddress } from '../../ip/ip-address.js';
import type { IPNetwork } from '../../ip/ip-network.js';
import type { KernelEvent } from '../../kernel/events.js';
import type { Lease } from '../../lease/lease.js';
import { insideAny, type EntryDiff, type PeerEntries, type PeerObject } from '../peer-entries.js';
import type { DataPath } from '../peer-network.js';
import type { IpsecConfig } from './ipsec-config.js';
import type { ViciClient, ViciConnection } from './vici-client.js';

/** flannel's IKE proposal (fixed in flannel; ESPProposal configures the child SA only). */
export const IPSEC_IKE_PROPOSAL = 'aes256-sha256-modp4096';
/** The id of the one shared secret (any identity: every host has the same PSK). */
export const IPSEC_PSK_ID = 'flannel-psk';

/** One IKE connection with its child SA, named as flannel names them. */
export interface IpsecConnObject extends PeerObject {
  readonly conn?: ViciConnection;
}

/**
 * The per-peer half of the ipsec backend: each remote ipsec lease becomes one IKE connection
 * (this host's public IP to the peer's) with one child SA (this subnet to the peer's), loaded
 * into charon with start_action trap: charon installs the XFRM policies at once (so nothing goes
 * in clear) and negotiates on the first packet. Removing a peer unloads its connection and
 * terminates its SAs; charon removes the policies. What was loaded is remembered, so that a
 * restarted charon gets everything again (reloadAll).
 */
export class IpsecDataPath implements DataPath {
  readonly #loaded = new Map<string, IpsecConnObject>();

  constructor(
    private readonly cfg: IpsecConfig,
    private readonly vici: ViciClient,
    private readonly local: { readonly publicIP: IPAddress; readonly subnet: IPNetwork },
    private readonly clusterNets: readonly (IPNetwork | undefined)[],
  ) {}

  async ensureDevices(): Promise<void> {
    // No devices: the kernel's XFRM policies are charon's.
  }

  entriesFor(lease: Lease): PeerEntries | { skip: string } {
    const a = lease.attrs;
    if (a.backendType !== 'ipsec') return { skip: `backend type ${a.backendType ?? '(none)'} is not ipsec` };
    if (!lease.subnet) return { skip: 'no IPv4 subnet (the ipsec backend carries IPv4 only)' };
    if (!a.publicIP) return { skip: `subnet ${lease.subnet.toString()}: no public IPv4 address` };
    if (!insideAny(this.clusterNets, lease.subnet)) return { skip: `subnet ${lease.subnet.toString()} is outside the network` };
    const name = `${this.local.publicIP.toString()}-${this.local.subnet.toString()}-${lease.subnet.toString()}-${a.publicIP.toString()}`;
    const conn: ViciConnection = {
      localAddrs: [this.local.publicIP.toString()],
      remoteAddrs: [a.publicIP.toString()],
      proposals: [IPSEC_IKE_PROPOSAL],
      encap: this.cfg.udpEncap,
      child: {
        name: `${this.local.subnet.toString()}-${lease.subnet.toString()}`,
        localTs: [this.local.subnet.toString()],
        remoteTs: [lease.subnet.toString()],
        espProposals: [this.cfg.espProposal],
        startAction: 'trap',
        installPolicy: true,
      },
    };
    const object: IpsecConnObject = { key: name, fingerprint: JSON.stringify(conn), conn };
    return { routes: [], neighbors: [], fdb: [], objects: [object] };
  }

  async dumpOwned(signal: AbortSignal): Promise<PeerEntries> {
    const objects: IpsecConnObject[] = [];
    for (const name of await this.vici.listConns(signal)) {
      objects.push({ key: name, fingerprint: this.#loaded.get(name)?.fingerprint ?? '' });
    }
    return { routes: [], neighbors: [], fdb: [], objects };
  }

  async applyObjects(diff: EntryDiff['objects'], signal: AbortSignal): Promise<void> {
    const failures: string[] = [];
    const putKeys = new Set(diff.put.map((o) => o.key));
    for (const o of diff.del) {
      if (putKeys.has(o.key)) continue;
      try {
        await this.vici.unloadConn(o.key, signal);
        this.#loaded.delete(o.key);
        // The SAs of a connection outlive its unloading; end them (none yet is no error).
        await this.vici.terminate(o.key, signal).catch(() => undefined);
      } catch (err) {
        failures.push(`unload ${o.key}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    for (const o of diff.put as readonly IpsecConnObject[]) {
      if (!o.conn) continue;
      try {
        await this.vici.loadConn(o.key, o.conn, signal);
        this.#loaded.set(o.key, o);
      } catch (err) {
        failures.push(`load ${o.key}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (failures.length > 0) throw new Error(`ipsec: charon refused: ${failures.join('; ')}`);
  }

  /** Loads the PSK and every connection loaded so far into a (re)started charon. */
  async reloadAll(signal: AbortSignal): Promise<void> {
    await this.vici.loadShared(IPSEC_PSK_ID, this.cfg.psk, [], signal);
    for (const o of this.#loaded.values()) if (o.conn) await this.vici.loadConn(o.key, o.conn, signal);
  }

  concerns(ev: KernelEvent): boolean {
    void ev;
    return false;
  }
}
