/**
 * flannel's Kubernetes subnet manager (-kube-subnet-mgr, pkg/subnet/kube/kube.go): the network
 * config from net-conf.json, this host's subnet from its Node's spec.podCIDR(s), the lease
 * published as Node annotations, peers' leases read from every Node's annotations through one
 * list and one watch (node-informer.ts). Kube leases do not expire: renewLease is a no-op.
 */
import { ChangeSignal } from '../../async/change-signal.js';
import { readFile } from 'node:fs/promises';
import { Backoff } from '../../async/backoff.js';
import { validateNetworkConfig, type NetworkConfig } from '../../config/network-config.js';
import { ConfigError, FlannelError, StoreError, errorMessage } from '../../errors.js';
import type { IPNetwork } from '../../ip/ip-network.js';
import { leaseKey, type Lease, type LeaseAttrs, type LeaseEvent } from '../../lease/lease.js';
import type { Logger } from '../../log/logger.js';
import type { AcquireOptions, LeaseWatchResult, StoredBackendData, SubnetManager } from '../subnet-manager.js';
import { KubeErrorCode, type KubeApi } from './kube-api.js';
import { allKeys, annotationKeys, changedAnnotations, desiredAnnotations, storedBackendData, type AnnotationKeys } from './kube-annotations.js';
import { nodeSubnets, nodeToLease, type NodeInfo, type NodeSubnets } from './kube-node.js';
import { LeaseFeed } from './lease-feed.js';
import { NodeInformer, type NodeInformerOptions } from './node-informer.js';
import { networkUnavailableFalsePatch } from './node-condition.js';

export interface KubeSubnetManagerOptions {
  readonly api: KubeApi;
  readonly nodeName: string;
  /** -net-config-path */
  readonly netConfPath: string;
  /** -kube-annotation-prefix */
  readonly annotationPrefix: string;
  /** -set-node-network-unavailable */
  readonly setNodeNetworkUnavailable: boolean;
  readonly knownBackends: readonly string[];
  readonly logger: Logger;
  /** How long one acquireLease waits for the first node list (default 60 s; the daemon retries). */
  readonly syncTimeoutMs?: number;
  /** How long one acquireLease waits for this node to appear with a pod CIDR (default 60 s). */
  readonly nodeWaitMs?: number;
  /** Delay before re-publishing annotations someone changed (default 1 s). */
  readonly reconcileDelayMs?: number;
  readonly informer?: Partial<Pick<NodeInformerOptions, 'minWatchTimeoutSec' | 'random' | 'listBackoff' | 'watchBackoff' | 'metrics' | 'watchProbeAfterMs' | 'watchProbeTimeoutMs'>>;
}

export class KubeSubnetManager implements SubnetManager {
  readonly name: string;
  private readonly api: KubeApi;
  private readonly keys: AnnotationKeys;
  private readonly informer: NodeInformer;
  private readonly log: Logger;
  private config: NetworkConfig | undefined;
  /** The attributes of the last acquire: what this node must keep publishing. */
  private published: LeaseAttrs | undefined;
  private readonly nodeChanged = new ChangeSignal();
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconciling = false;
  private readonly closed = new AbortController();

  constructor(private readonly opts: KubeSubnetManagerOptions) {
    this.name = 'kube';
    this.api = opts.api;
    this.log = opts.logger;
    this.keys = annotationKeys(opts.annotationPrefix);
    this.informer = new NodeInformer({ api: opts.api, annotationKeys: allKeys(this.keys), logger: opts.logger, ...opts.informer });
    this.informer.subscribe({
      onResync: () => this.ownNodeChanged(),
      onChange: (prev, next) => {
        if ((prev ?? next)?.name === opts.nodeName) this.ownNodeChanged();
      },
    });
  }

  /** The node cache's list/watch counters (for tests and benchmarks). */
  get informerStats(): Readonly<{ lists: number; watches: number; expired: number }> {
    return this.informer.stats;
  }

  /** Reads net-conf.json (ConfigError naming the file or the field) and starts the node list/watch. */
  async getNetworkConfig(signal: AbortSignal): Promise<NetworkConfig> {
    signal.throwIfAborted();
    const path = this.opts.netConfPath;
    let text: string;
    try {
      text = await readFile(path, { encoding: 'utf8', signal });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new ConfigError('-net-config-path', path, `cannot read the network config file: ${errorMessage(err)}`, { cause: err });
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(path, text.slice(0, 200), `malformed JSON: ${errorMessage(err)}`, { cause: err });
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(path, raw, 'must be a JSON object');
    this.config = validateNetworkConfig(raw as Record<string, unknown>, { knownBackends: this.opts.knownBackends, checkSubnetRanges: false });
    this.log.info(`network config from ${path}; watching nodes at ${this.api.server} as node ${JSON.stringify(this.opts.nodeName)}`);
    this.informer.start();
    return this.config;
  }

  async acquireLease(attrs: LeaseAttrs, opts: AcquireOptions): Promise<Lease> {
    const config = this.config;
    if (!config) throw new FlannelError('ERR_STATE', 'getNetworkConfig() must be called before acquiring a lease');
    const signal = opts.signal ?? this.closed.signal;
    await this.informer.waitForSync(signal, this.opts.syncTimeoutMs ?? 60_000);
    const node = await this.waitForPodCIDR(signal);
    const nets = this.checkSubnets(node, config);
    const changed = changedAnnotations(node.annotations, desiredAnnotations(node.annotations, attrs, this.keys));
    if (changed) {
      await this.patchAnnotations(changed, signal);
      this.log.info(`published the lease of node ${JSON.stringify(node.name)} in annotations ${Object.keys(changed).join(', ')}`);
    } else {
      this.log.info(`node ${JSON.stringify(node.name)} already carries this lease's annotations; not patching`);
    }
    this.published = attrs;
    return {
      subnet: config.enableIPv4 ? nets.v4 : undefined,
      ipv6Subnet: config.enableIPv6 ? nets.v6 : undefined,
      attrs,
      expiration: undefined,
    };
  }

  /**
   * This node's backend-data and backend-v6-data annotations, parsed (flannel's
   * GetStoredMacAddresses): a re-created vxlan device takes the VtepMAC peers already know.
   * Nothing when the node list cannot be had (flannel logs the error and goes on).
   */
  async storedBackendData(signal: AbortSignal): Promise<StoredBackendData> {
    try {
      await this.informer.waitForSync(signal, this.opts.syncTimeoutMs ?? 60_000);
    } catch (err) {
      if (signal.aborted) throw err;
      this.log.warn(`reading node ${JSON.stringify(this.opts.nodeName)}'s stored backend data: ${errorMessage(err)}`);
      return {};
    }
    return storedBackendData(this.informer.get(this.opts.nodeName)?.annotations ?? {}, this.keys);
  }

  /** Kube leases do not expire (flannel's RenewLease is unimplemented). */
  renewLease(lease: Lease, _signal: AbortSignal): Promise<Lease> {
    return Promise.resolve(lease);
  }

  async *watchLeases(signal: AbortSignal): AsyncIterable<LeaseWatchResult> {
    const backoff = new Backoff(1000, 30_000);
    while (!this.informer.synced) {
      try {
        await this.informer.waitForSync(signal, this.opts.syncTimeoutMs ?? 60_000);
      } catch (err) {
        if (signal.aborted) return;
        this.log.warn(`lease watch waiting for the node list: ${errorMessage(err)}`);
        await backoff.wait(signal).catch(() => {});
      }
    }
    const feed = new LeaseFeed();
    const unsubscribe = this.informer.subscribe({
      onResync: (nodes) => feed.snapshot(this.leasesOf(nodes.values())),
      onChange: (prev, next) => feed.events(this.eventsFor(prev, next)),
    });
    try {
      feed.snapshot(this.leasesOf(this.informer.values()));
      for (;;) {
        const result = await feed.next(signal);
        if (!result) return;
        yield result;
      }
    } finally {
      unsubscribe();
    }
  }

  /** Sets the node's NetworkUnavailable condition to false (flannel's CompleteLease), with a few retries. */
  async onReady(_lease: Lease, signal: AbortSignal): Promise<void> {
    if (!this.opts.setNodeNetworkUnavailable) return;
    const backoff = new Backoff(500, 10_000);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.api.patchNodeStatus(this.opts.nodeName, networkUnavailableFalsePatch(new Date()), signal);
        this.log.info(`set condition NetworkUnavailable=False on node ${JSON.stringify(this.opts.nodeName)}`);
        return;
      } catch (err) {
        if (signal.aborted || attempt >= 5 || (err instanceof StoreError && !err.retryable)) throw err;
        this.log.warn(`setting NetworkUnavailable=False failed: ${errorMessage(err)}; retrying`);
        await backoff.wait(signal);
      }
    }
  }

  close(): void {
    this.closed.abort();
    clearTimeout(this.reconcileTimer);
    this.informer.stop();
    this.api.close();
  }

  private leasesOf(nodes: Iterable<NodeInfo>): Lease[] {
    const out: Lease[] = [];
    for (const n of nodes) {
      const l = this.toLease(n);
      if (l) out.push(l);
    }
    return out;
  }

  private toLease(node: NodeInfo): Lease | undefined {
    const config = this.config;
    if (!config) return undefined;
    const r = nodeToLease(node, this.keys, config);
    if ('skip' in r) {
      this.log.v(2).info(`node ${JSON.stringify(node.name)} is not a peer: ${r.skip}`);
      return undefined;
    }
    return r.lease;
  }

  /** A node change as lease events: its old lease removed when gone or moved, its new one added. */
  private eventsFor(prev: NodeInfo | undefined, next: NodeInfo | undefined): LeaseEvent[] {
    const before = prev && this.toLease(prev);
    const after = next && this.toLease(next);
    const events: LeaseEvent[] = [];
    if (before && (!after || leaseKey(before) !== leaseKey(after))) events.push({ type: 'removed', lease: before });
    if (after) events.push({ type: 'added', lease: after });
    return events;
  }

  /** This node from the cache once it has a pod CIDR; waits (bounded, saying why) until then. */
  private async waitForPodCIDR(signal: AbortSignal): Promise<NodeInfo> {
    const name = JSON.stringify(this.opts.nodeName);
    const waitMs = this.opts.nodeWaitMs ?? 60_000;
    const deadline = Date.now() + waitMs;
    let said = '';
    for (;;) {
      signal.throwIfAborted();
      const node = this.informer.get(this.opts.nodeName);
      if (node && node.podCIDRs.length > 0) return node;
      const why = node
        ? `node ${name} has no podCIDR yet (spec.podCIDR is assigned by kube-controller-manager --allocate-node-cidrs, or set it on the node)`
        : `node ${name} does not exist in the API (yet)`;
      if (why !== said) this.log.warn(`${why}; waiting`);
      said = why;
      const left = deadline - Date.now();
      if (left <= 0) throw new StoreError(KubeErrorCode.nodeNotReady, `${this.api.server}/api/v1/nodes/${this.opts.nodeName}`, `${why} after ${waitMs} ms`, { retryable: true });
      await this.nodeChanged.wait(signal, Math.min(left, 30_000));
    }
  }

  /** The node's subnets, checked against the network (ConfigError naming the field otherwise). */
  private checkSubnets(node: NodeInfo, config: NetworkConfig): NodeSubnets {
    const name = JSON.stringify(node.name);
    let nets: NodeSubnets;
    try {
      nets = nodeSubnets(node);
    } catch (err) {
      throw new ConfigError(`node ${name} spec.podCIDRs`, node.podCIDRs, errorMessage(err), { cause: err });
    }
    const check = (enabled: boolean, net: IPNetwork | undefined, network: IPNetwork | undefined, field: string, fam: string) => {
      if (!enabled) return;
      if (!net) throw new ConfigError(field, network?.toString(), `node ${name} has no ${fam} podCIDR (spec.podCIDRs=${JSON.stringify(node.podCIDRs)})`);
      if (!network?.covers(net)) throw new ConfigError(field, network?.toString(), `does not contain the podCIDR ${net.toString()} of node ${name}`);
    };
    check(config.enableIPv4, nets.v4, config.network, 'Network', 'IPv4');
    check(config.enableIPv6, nets.v6, config.ipv6Network, 'IPv6Network', 'IPv6');
    return nets;
  }

  /** PATCH nodes/{name}/status with the changed annotations (as flannel: strategic merge, status subresource). */
  private async patchAnnotations(changed: Record<string, string>, signal: AbortSignal): Promise<void> {
    await this.api.patchNodeStatus(this.opts.nodeName, { metadata: { annotations: changed } }, signal);
  }

  /** Wakes acquire waiters; re-publishes the annotations if someone changed them after the acquire. */
  private ownNodeChanged(): void {
    this.nodeChanged.notify();
    if (!this.published || this.closed.signal.aborted) return;
    clearTimeout(this.reconcileTimer);
    this.reconcileTimer = setTimeout(() => void this.reconcile(), this.opts.reconcileDelayMs ?? 1000);
  }

  private async reconcile(): Promise<void> {
    const attrs = this.published;
    const node = this.informer.get(this.opts.nodeName);
    if (!attrs || !node || this.reconciling || this.closed.signal.aborted) return;
    const changed = changedAnnotations(node.annotations, desiredAnnotations(node.annotations, attrs, this.keys));
    if (!changed) return;
    this.reconciling = true;
    try {
      this.log.info(`annotations ${Object.keys(changed).join(', ')} of node ${JSON.stringify(node.name)} were changed or removed; re-publishing`);
      await this.patchAnnotations(changed, AbortSignal.any([this.closed.signal, AbortSignal.timeout(30_000)]));
    } catch (err) {
      if (!this.closed.signal.aborted) {
        this.log.warn(`re-publishing annotations failed: ${errorMessage(err)}; retrying`);
        this.reconcileTimer = setTimeout(() => void this.reconcile(), 5_000);
      }
    } finally {
      this.reconciling = false;
    }
  }
}
