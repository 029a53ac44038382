/**
 * What the SDK-driven cloud tests share: a stand-in served in-process on 127.0.0.1 (API +
 * control socket), the backend context a cloud backend gets from the daemon (no kernel), a
 * remote lease, and a running network fed by a lease event queue.
 */
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AsyncQueue } from '../../src/async/async-queue.js';
import type { BackendContext, Network } from '../../src/backend/backend.js';
import { validateNetworkConfig } from '../../src/config/network-config.js';
import { IPAddress } from '../../src/ip/ip-address.js';
import { IPNetwork } from '../../src/ip/ip-network.js';
import type { Lease, LeaseEvent } from '../../src/lease/lease.js';
import { createLogger } from '../../src/log/logger.js';
import type { StandinApp } from './standin-app.js';
import { serveStandin } from './standin-host.js';
import { controlRequest } from './standin-process.js';

export interface StandinRig<S extends StandinApp> {
  readonly standin: S;
  /** Added to Date.now() by stand-ins built with the rig's clock (outages "last" on it). */
  readonly clock: { offset: number };
  readonly api: Server;
  readonly controlServer: Server;
  readonly url: string;
  readonly port: number;
  control<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

let rigCount = 0;

/** Serves `build(now)`'s stand-in on 127.0.0.1 (any port) with its control socket in `dir`. */
export async function startStandinRig<S extends StandinApp>(dir: string, build: (now: () => number) => S): Promise<StandinRig<S>> {
  const clock = { offset: 0 };
  const standin = build(() => Date.now() + clock.offset);
  const sock = join(dir, `control-${process.pid}-${rigCount++}.sock`);
  const servers = await serveStandin(standin, { host: '127.0.0.1', port: 0, control: sock });
  const port = (servers.api.address() as AddressInfo).port;
  return {
    standin,
    clock,
    api: servers.api,
    controlServer: servers.control,
    url: `http://127.0.0.1:${port}`,
    port,
    control: (method, path, body) => controlRequest(sock, method, path, body),
    async close() {
      for (const s of [servers.api, servers.control]) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
    },
  };
}

/** A remote IPv4 lease as the cloud backends' leases look (PublicIP only). */
export function cloudLease(subnet: string, publicIP: string | undefined): Lease {
  return {
    subnet: IPNetwork.parse(subnet),
    ipv6Subnet: undefined,
    attrs: { publicIP: publicIP === undefined ? undefined : IPAddress.parse(publicIP), publicIPv6: undefined, backendType: undefined, backendData: undefined, backendV6Data: undefined },
    expiration: undefined,
  };
}

export interface CloudContextOptions {
  readonly type: string;
  readonly backend?: Record<string, unknown>;
  readonly selfIp: string;
  readonly mtu: number;
  /** This host's lease subnet (acquireLease answers it). */
  readonly ownSubnet: string;
  readonly resyncMs: number;
  /** Every log line lands here. */
  readonly lines: string[];
}

/** The context the daemon gives a cloud backend: network 10.244.0.0/16, no kernel. */
export function cloudBackendContext(o: CloudContextOptions): BackendContext {
  return {
    config: validateNetworkConfig({ Network: '10.244.0.0/16', Backend: { Type: o.type, ...o.backend } }, { knownBackends: [o.type] }),
    extIface: { name: 'eth0', mtu: o.mtu, ifaceAddr: IPAddress.parse(o.selfIp), ifaceV6Addr: undefined, extAddr: IPAddress.parse(o.selfIp), extV6Addr: undefined },
    logger: createLogger({ verbosity: 2, sink: { write: (l) => o.lines.push(l) } }),
    acquireLease: (attrs) => Promise.resolve({ subnet: IPNetwork.parse(o.ownSubnet), ipv6Subnet: undefined, attrs, expiration: undefined }),
    kernel: () => {
      throw new Error(`${o.type} must not touch the kernel`);
    },
    resyncMs: o.resyncMs,
  };
}

export interface RunningNetwork {
  readonly net: Network;
  readonly q: AsyncQueue<readonly LeaseEvent[]>;
  readonly ac: AbortController;
  readonly running: Promise<void>;
}

/** Runs a registered network on a lease event queue until `ac` aborts. */
export function runNetwork(net: Network): RunningNetwork {
  const ac = new AbortController();
  const q = new AsyncQueue<readonly LeaseEvent[]>(ac.signal);
  return { net, q, ac, running: net.run(q, ac.signal) };
}
