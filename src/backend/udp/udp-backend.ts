import { InterfaceError } from '../../errors.js';
import type { Backend, BackendContext, Network } from '../backend.js';
import { PeerNetwork } from '../peer-network.js';
import { loadTunAddon } from './tun-addon.js';
import { UDP_ENCAP_OVERHEAD, parseUdpConfig } from './udp-config.js';
import { UdpDataPath } from './udp-data-path.js';
import { UdpTunnel } from './udp-tunnel.js';

/**
 * The udp backend: IPv4 packets between pods carried in UDP datagrams by a forwarding thread
 * of our own native addon (flannel's C proxy, rebuilt): TUN device flannel0, one route for the
 * whole network through it, a peer table following the leases. The device and socket are made
 * before the lease is taken; they go when the agent exits (a TUN device lives with its process).
 */
export class UdpBackend implements Backend {
  readonly type = 'udp';
  readonly usesKernel = true;

  async registerNetwork(ctx: BackendContext, signal: AbortSignal): Promise<Network> {
    const cfg = parseUdpConfig(ctx.config);
    const network = ctx.config.network;
    if (!network) throw new InterfaceError('udp: no IPv4 network configured');
    const kernel = ctx.kernel();
    const ext = await kernel.linkByName(ctx.extIface.name, { signal });
    const bindIp = ctx.extIface.ifaceAddr;
    if (!bindIp) throw new InterfaceError(`udp: interface ${ext.name} has no IPv4 address to listen on`);
    const mtu = ext.mtu - UDP_ENCAP_OVERHEAD;
    const tunnel = new UdpTunnel(loadTunAddon(), kernel, { bindIp, port: cfg.port, mtu, network }, ctx.logger);
    await tunnel.open(signal);
    try {
      // As flannel: PublicIP only, no BackendType, no BackendData.
      const lease = await ctx.acquireLease(
        { publicIP: ctx.extIface.extAddr, publicIPv6: undefined, backendType: undefined, backendData: undefined, backendV6Data: undefined },
        signal,
      );
      if (lease.subnet) await tunnel.configure(lease.subnet, signal);
      const dataPath = new UdpDataPath(tunnel, cfg.port, network);
      const peers = new PeerNetwork({ kernel, dataPath, logger: ctx.logger, resyncMs: ctx.resyncMs, metrics: ctx.metrics });
      return {
        lease,
        mtu,
        run: async (events, runSignal) => {
          try {
            await peers.run(events, runSignal);
          } finally {
            tunnel.close();
          }
        },
      };
    } catch (err) {
      tunnel.close();
      throw err;
    }
  }
}
