import { InterfaceError } from '../../errors.js';
import type { Backend, BackendContext, Network } from '../backend.js';
import { PeerNetwork } from '../peer-network.js';
import { IPIP_DEVICE, IPIP_ENCAP_OVERHEAD, parseIpipConfig } from './ipip-config.js';
import { IpipDataPath } from './ipip-data-path.js';
import { IpipDevice } from './ipip-device.js';

/**
 * The ipip backend: in-kernel IPv4-in-IPv4 through one device `flannel.ipip` and one route per
 * peer via its public IP. Unlike flannel, the device is made before the lease is taken, so a
 * kernel without ipip stops the agent with no lease written.
 */
export class IpipBackend implements Backend {
  readonly type = 'ipip';
  readonly usesKernel = true;

  async registerNetwork(ctx: BackendContext, signal: AbortSignal): Promise<Network> {
    const cfg = parseIpipConfig(ctx.config);
    const log = ctx.logger;
    log.info(`ipip config: DirectRouting=${cfg.directRouting}`);
    const kernel = ctx.kernel();
    const ext = await kernel.linkByName(ctx.extIface.name, { signal });
    const local = ctx.extIface.ifaceAddr;
    if (!local) throw new InterfaceError(`ipip: interface ${ext.name} has no IPv4 address for the tunnel`);
    const mtu = ext.mtu - IPIP_ENCAP_OVERHEAD;
    if (mtu <= 0) throw new InterfaceError(`ipip: MTU ${ext.mtu} of interface ${ext.name} is too small for ipip`);
    const device = new IpipDevice(kernel, { name: IPIP_DEVICE, local, mtu }, ctx.config.network, log);
    await device.create(signal);

    const lease = await ctx.acquireLease(
      { publicIP: ctx.extIface.extAddr, publicIPv6: undefined, backendType: 'ipip', backendData: undefined, backendV6Data: undefined },
      signal,
    );
    if (lease.subnet) await device.configure(lease.subnet, signal);
    const dataPath = new IpipDataPath(kernel, cfg, ext, device, lease, [ctx.config.network]);
    await dataPath.ensureDevices(signal);
    const peers = new PeerNetwork({ kernel, dataPath, logger: log, resyncMs: ctx.resyncMs, metrics: ctx.metrics });
    return { lease, mtu: device.mtu, run: (events, runSignal) => peers.run(events, runSignal) };
  }
}
