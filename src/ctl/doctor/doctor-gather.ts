/**
 * Gathers doctor's facts: the store (config and leases, through the ctl context's store), this
 * host's subnet.env, the kernel through our rtnetlink layer (links, addresses, main-table routes,
 * neighbours, FDB; WireGuard devices through their generic-netlink family or UAPI socket), the
 * rules through the tools the traffic managers read (iptables-save, nft -j), and the UDP socket
 * tables. Nothing is changed. Each source that fails becomes an error text in the facts, so one
 * broken part never hides the others.
 */
import { readFile } from 'node:fs/promises';
import { knownBackendTypes } from '../../backend/registry.js';
import { formatEndpoint } from '../../backend/wireguard/uapi-protocol.js';
import { parseNetworkConfig, type NetworkConfig } from '../../config/network-config.js';
import { errorMessage } from '../../errors.js';
import type { Family } from '../../ip/ip-address.js';
import { runTool, type ToolRunner } from '../../kernel/exec-tool.js';
import { NetlinkKernel } from '../../kernel/kernel-ops.js';
import type { Link } from '../../kernel/link.js';
import type { WgControl } from '../../kernel/wg-types.js';
import { parseEnvText } from '../../subnet/subnet-env.js';
import { NFT_TABLES } from '../../traffic/nftables/nft-rules.js';
import type { CtlStore } from '../ctl-context.js';
import type { DoctorFacts, FamilyRuleFacts, HostIdentity, KernelFacts, RuleFacts, StoreFacts, SubnetEnvFacts, UdpSocket, WgDeviceFacts } from './doctor-facts.js';
import { parseProcNetUdp } from './proc-net-udp.js';

export interface GatherOptions {
  readonly store: () => Promise<CtlStore>;
  readonly kube: boolean;
  readonly subnetFile: string;
  readonly host: HostIdentity;
  readonly signal: AbortSignal;
  /** How tools are run (tests pass a fake). */
  readonly run?: ToolRunner;
}

const TOOL_TIMEOUT_MS = 10_000;

export async function gatherFacts(o: GatherOptions): Promise<DoctorFacts> {
  const store = await gatherStore(o);
  const subnetEnv = await gatherSubnetEnv(o.subnetFile);
  let kernel: KernelFacts | undefined;
  let kernelError: string | undefined;
  try {
    kernel = await gatherKernel(o.signal);
  } catch (err) {
    kernelError = errorMessage(err);
  }
  const rules = await gatherRules(store.config, o.run ?? runTool, o.signal);
  const udp = await gatherUdpSockets();
  return { gatheredAt: Date.now(), store, host: o.host, subnetEnv, kernel, kernelError, rules, udpSockets: udp.sockets, udpSocketsError: udp.error };
}

async function gatherStore(o: GatherOptions): Promise<StoreFacts> {
  let store: CtlStore;
  try {
    store = await o.store();
  } catch (err) {
    const why = errorMessage(err);
    return { configError: `cannot open the store: ${why}`, leasesError: `cannot open the store: ${why}` };
  }
  let config: NetworkConfig | undefined;
  let configError: string | undefined;
  try {
    const doc = await store.getConfig(o.signal);
    if (!doc) configError = `no network config in the store (${store.kind === 'etcd' ? 'etcd key <prefix>/config' : 'net-conf.json'} missing)`;
    else config = parseNetworkConfig(doc.text, { knownBackends: knownBackendTypes(), checkSubnetRanges: !o.kube });
  } catch (err) {
    configError = errorMessage(err);
  }
  try {
    const listing = await store.listLeases(o.signal);
    return { config, configError, leases: listing.leases.map((l) => ({ lease: l.lease, nodeName: l.node, ttlSeconds: l.ttlSeconds, reserved: l.reserved })), skipped: listing.skipped };
  } catch (err) {
    return { config, configError, leasesError: `${store.where}: ${errorMessage(err)}` };
  }
}

async function gatherSubnetEnv(path: string): Promise<SubnetEnvFacts> {
  try {
    return { path, vars: parseEnvText(await readFile(path, 'utf8')) };
  } catch (err) {
    return { path, error: errorMessage(err), missing: (err as NodeJS.ErrnoException).code === 'ENOENT' };
  }
}

async function gatherKernel(signal: AbortSignal): Promise<KernelFacts> {
  const k = new NetlinkKernel();
  try {
    const opts = { signal };
    const links = await k.listLinks(opts);
    const addresses = await k.listAddresses({}, opts);
    const routes = await k.listRoutes({}, opts);
    const neighbors = await k.listNeighbors({}, opts);
    const fdb = await k.listFdb({}, opts);
    const wireguard = new Map<string, WgDeviceFacts | { error: string }>();
    for (const l of links.filter((x) => /^flannel-wg(-v6)?$/.test(x.name))) wireguard.set(l.name, await wireguardState(l, signal));
    return { links, addresses, routes, neighbors, fdb, wireguard };
  } finally {
    k.close();
  }
}

async function wireguardState(link: Link, signal: AbortSignal): Promise<WgDeviceFacts | { error: string }> {
  let ctl: WgControl & { close?: () => void };
  if (link.kind === 'wireguard') ctl = new (await import('../../kernel/wireguard-genl.js')).GenlWireguard(link.name);
  else ctl = new (await import('../../backend/wireguard/uapi-client.js')).UapiControl(link.name);
  try {
    const s = await ctl.get({ signal });
    return {
      implementation: ctl.implementation,
      publicKey: s.publicKey?.toString('base64'),
      listenPort: s.listenPort,
      peers: s.peers.map((p) => ({
        publicKey: p.publicKey.toString('base64'),
        endpoint: p.endpoint ? formatEndpoint(p.endpoint) : undefined,
        allowedIps: p.allowedIps.map((n) => n.toString()),
        lastHandshakeSec: p.lastHandshakeSec,
      })),
    };
  } catch (err) {
    return { error: errorMessage(err) };
  } finally {
    ctl.close?.();
  }
}

async function gatherRules(config: NetworkConfig | undefined, run: ToolRunner, signal: AbortSignal): Promise<RuleFacts | undefined> {
  if (!config) return undefined;
  const byFamily: Partial<Record<Family, FamilyRuleFacts>> = {};
  const fams: Family[] = [...(config.enableIPv4 ? [4 as const] : []), ...(config.enableIPv6 ? [6 as const] : [])];
  const opts = { signal, timeoutMs: TOOL_TIMEOUT_MS };
  for (const fam of fams) {
    const save = fam === 4 ? 'iptables-save' : 'ip6tables-save';
    const f: { -readonly [K in keyof FamilyRuleFacts]: FamilyRuleFacts[K] } = {};
    try {
      const nat = await run([save, '-t', 'nat'], opts);
      const filter = await run([save, '-t', 'filter'], opts);
      f.iptablesSave = nat.stdout + filter.stdout;
    } catch (err) {
      f.iptablesError = errorMessage(err);
    }
    if (config.enableNFTables) {
      const t = NFT_TABLES[fam];
      try {
        f.nftTable = (await run(['nft', '-j', 'list', 'table', t.family, t.name], opts)).stdout;
      } catch (err) {
        f.nftError = errorMessage(err);
      }
    }
    byFamily[fam] = f;
  }
  return { byFamily };
}

async function gatherUdpSockets(): Promise<{ sockets?: UdpSocket[]; error?: string }> {
  const sockets: UdpSocket[] = [];
  try {
    sockets.push(...parseProcNetUdp(await readFile('/proc/net/udp', 'utf8'), 4));
  } catch (err) {
    return { error: errorMessage(err) };
  }
  // No IPv6 in this namespace: no udp6 table.
  sockets.push(...parseProcNetUdp(await readFile('/proc/net/udp6', 'utf8').catch(() => ''), 6));
  return { sockets };
}
