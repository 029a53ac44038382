import { ConfigError, InterfaceError } from '../../errors.js';
import { IPNetwork } from '../../ip/ip-network.js';
import { GenlWireguard } from '../../kernel/wireguard-genl.js';
import type { Backend, BackendContext, Network } from '../backend.js';
import { PeerNetwork } from '../peer-network.js';
import { UapiControl } from './uapi-client.js';
import { WG_DEVICE, WG_DEVICE_V6, WG_OVERHEAD, parseWireguardConfig, type WireguardConfig } from './wireguard-config.js';
import { WireguardDataPath, type WireguardDevices } from './wireguard-data-path.js';
import { WireguardDevice, type WgImplementations } from './wireguard-device.js';
import { startWireguardGo, wireguardGoVersion } from './wireguard-go.js';
import { keyFilePath, loadOrCreateKey, type WireguardKeyPair } from './wireguard-key.js';
import { wireguardLeaseData } from './wireguard-lease-data.js';
import type { Logger } from '../../log/logger.js';

/**
 * flannel's WireGuard backend: encrypted tunnels between hosts, kernel WireGuard when the kernel
 * has it, else wireguard-go (userspace) behind the same devices, configured over its UAPI socket.
 */
export class WireguardBackend implements Backend {
  readonly type = 'wireguard';
  readonly usesKernel = true;

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async registerNetwork(ctx: BackendContext, signal: AbortSignal): Promise<Network> {
    const cfg = parseWireguardConfig(ctx.config.backend);
    const log = ctx.logger;
    const kernel = ctx.kernel();
    const { enableIPv4, enableIPv6 } = ctx.config;
    if (cfg.mode === 'separate' && enableIPv4 && enableIPv6 && cfg.listenPort === cfg.listenPortV6) {
      // Each device listens on both families: two on one port cannot both bind.
      throw new ConfigError('Backend.ListenPortV6', cfg.listenPortV6, 'must differ from ListenPort in Mode separate with IPv4 and IPv6 (each device binds its port on both families)');
    }
    const keyFile = keyFilePath(this.env);
    const keys = await loadOrCreateKey(keyFile, (note) => log.warn(note));
    log.info(`${keys.created ? 'generated the private key into' : 'using the private key in'} ${keyFile}; public key ${keys.publicKey.toString('base64')}`);

    const ext = await kernel.linkByName(ctx.extIface.name, { signal });
    const mtu = (cfg.mtu || ext.mtu) - WG_OVERHEAD;
    if (mtu < (enableIPv6 ? 1280 : 576)) {
      throw new InterfaceError(`wireguard: interface ${ext.name} MTU ${ext.mtu} leaves ${mtu} for the tunnel (less than ${enableIPv6 ? 1280 : 576}); set Backend.MTU`);
    }
    const impls = implementations(log);
    const device = (name: string, listenPort: number) => new WireguardDevice(kernel, { name, listenPort, mtu, keys }, impls, log);
    const devices: { v4?: WireguardDevice; v6?: WireguardDevice; both?: WireguardDevice } = {};
    if (cfg.mode === 'separate') {
      if (enableIPv4) devices.v4 = device(WG_DEVICE, cfg.listenPort);
      if (enableIPv6) devices.v6 = device(WG_DEVICE_V6, cfg.listenPortV6);
    } else {
      devices.both = device(WG_DEVICE, cfg.listenPort);
    }
    const made = [devices.v4, devices.v6, devices.both].filter((d) => d !== undefined);
    try {
      return await this.start(ctx, cfg, made, devices, keys, mtu, signal);
    } catch (err) {
      // A start that fails (not one cancelled: a restart keeps the path) leaves nothing half-made.
      if (!signal.aborted) for (const d of made) await d.discard();
      throw err;
    }
  }

  private async start(
    ctx: BackendContext,
    cfg: WireguardConfig,
    made: readonly WireguardDevice[],
    devices: WireguardDevices,
    keys: WireguardKeyPair,
    mtu: number,
    signal: AbortSignal,
  ): Promise<Network> {
    const { enableIPv4, enableIPv6 } = ctx.config;
    const log = ctx.logger;
    const kernel = ctx.kernel();
    for (const d of made) await d.create(signal);

    // The IPv6 data carries the port that IPv6 peers reach: ListenPortV6 on flannel-wg-v6, and the
    // single device's ListenPort in the other modes (flannel writes ListenPortV6 there, which no
    // device listens on).
    const v6Port = cfg.mode === 'separate' ? cfg.listenPortV6 : cfg.listenPort;
    const lease = await ctx.acquireLease(
      {
        publicIP: ctx.extIface.extAddr,
        publicIPv6: ctx.extIface.extV6Addr,
        backendType: 'wireguard',
        backendData: enableIPv4 ? wireguardLeaseData(keys.publicKey, cfg.listenPort) : undefined,
        backendV6Data: enableIPv6 ? wireguardLeaseData(keys.publicKey, v6Port) : undefined,
      },
      signal,
    );
    if (enableIPv4 && !lease.subnet) throw new InterfaceError('wireguard: IPv4 is enabled but the lease has no IPv4 subnet');
    if (enableIPv6 && !lease.ipv6Subnet) throw new InterfaceError('wireguard: IPv6 is enabled but the lease has no IPv6 subnet');
    const addr4 = enableIPv4 && lease.subnet ? IPNetwork.of(lease.subnet.ip, 32) : undefined;
    const addr6 = enableIPv6 && lease.ipv6Subnet ? IPNetwork.of(lease.ipv6Subnet.ip, 128) : undefined;
    const net4 = enableIPv4 ? ctx.config.network : undefined;
    const net6 = enableIPv6 ? ctx.config.ipv6Network : undefined;
    const some = <T>(...xs: (T | undefined)[]) => xs.filter((x): x is T => x !== undefined);
    await devices.v4?.configure(some(addr4), some(net4), signal);
    await devices.v6?.configure(some(addr6), some(net6), signal);
    await devices.both?.configure(some(addr4, addr6), some(net4, net6), signal);

    const dataPath = new WireguardDataPath(cfg, devices, [net4, net6], {
      publicIP: ctx.extIface.extAddr,
      publicIPv6: ctx.extIface.extV6Addr,
    });
    const peers = new PeerNetwork({ kernel, dataPath, logger: log, resyncMs: ctx.resyncMs, metrics: ctx.metrics });
    return { lease, mtu, run: (events, runSignal) => peers.run(events, runSignal) };
  }
}

/** Kernel WireGuard over generic netlink; userspace wireguard-go over its UAPI socket. */
function implementations(log: Logger): WgImplementations {
  return {
    kernel: (name) => new GenlWireguard(name),
    async adoptUserspace(name, signal) {
      const ctl = new UapiControl(name);
      return (await ctl.alive(signal)) ? ctl : undefined;
    },
    async startUserspace(name, signal) {
      const { control, pid, exited } = await startWireguardGo({ device: name, logger: log }, signal);
      void exited.then((why) => log.warn(`wireguard-go for ${name} (pid ${pid}) ended: ${why}`));
      return control;
    },
    async describeUserspace() {
      return `wireguard-go (${await wireguardGoVersion()})`;
    },
  };
}
