/**
 * What every flannelctl subcommand gets: the parsed common options, a lazily-opened store
 * (etcd or the Kubernetes API, through flannel-ts's own clients), output writers, and a clock.
 * A subcommand is a CtlCommand: it parses its own flags from `args`, does its work, writes to
 * ctx.stdout / ctx.stderr and returns the exit code (0 ok, 1 failure, 2 bad usage, as flanneld).
 */
import type { IPNetwork } from '../ip/ip-network.js';
import type { Lease, LeaseAttrs } from '../lease/lease.js';
import type { CtlOptions } from './ctl-options.js';

export type { CtlOptions, OutputFormat } from './ctl-options.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** One subcommand: `(ctx, args, signal) => exit code`. `args` are what follows its name. */
export type CtlCommand = (ctx: CtlContext, args: readonly string[], signal: AbortSignal) => Promise<number>;

export interface CtlIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** The whole of standard input (config set -). */
  readonly readStdin?: ((signal: AbortSignal) => Promise<string>) | undefined;
}

/** A lease as the store holds it, with what an operator wants to see. */
export interface StoreLease {
  readonly lease: Lease;
  /** etcd: the full key; kube: "node/<name>". */
  readonly key: string;
  /** kube: the node's name; etcd: undefined. */
  readonly node?: string | undefined;
  /** etcd: the etcd lease id ("0" for a reservation). */
  readonly storeLeaseId?: string | undefined;
  /** etcd: seconds left (undefined: reservation, or the etcd lease vanished meanwhile); kube: undefined. */
  readonly ttlSeconds?: number | undefined;
  /** etcd: the TTL the etcd lease was granted (or last renewed) with. */
  readonly grantedTtlSeconds?: number | undefined;
  /** etcd: a key without a TTL (flannel's reservation). */
  readonly reserved: boolean;
  /** etcd: the key's mod revision (removals only remove what was listed). */
  readonly modRevision?: number | undefined;
  /** kube: the node's Ready condition (status and since when), when the API reported one. */
  readonly ready?: { readonly status: string; readonly since: Date | undefined } | undefined;
}

/** A node known to the kube store that stands for no lease, with why (shown by `leases`). */
export interface SkippedNode {
  readonly node: string;
  readonly reason: string;
}

export interface LeaseListing {
  readonly leases: readonly StoreLease[];
  /** kube: nodes that are not peers (no annotations yet, no podCIDR, ...); etcd: keys that are not leases. */
  readonly skipped: readonly SkippedNode[];
}

/** The network config document as stored, with where it came from (for messages). */
export interface StoredConfig {
  readonly text: string;
  /** "etcd key /coreos.com/network/config" or "file /etc/kube-flannel/net-conf.json". */
  readonly source: string;
}

/** flannel's reservations: etcd keys without a TTL (etcd store only). */
export interface ReservationStore {
  /**
   * Writes `<prefix>/subnets/<key>` without an etcd lease. Refused (returns 'taken' with the
   * holder) when another host's lease holds the subnet; an existing lease of the same public IP
   * is made permanent ('converted'); an existing reservation is rewritten ('updated').
   */
  add(
    subnets: { readonly subnet: IPNetwork | undefined; readonly ipv6Subnet: IPNetwork | undefined },
    attrs: LeaseAttrs,
    signal: AbortSignal,
  ): Promise<{ readonly outcome: 'created' | 'converted' | 'updated' | 'taken'; readonly key: string; readonly holder?: StoreLease | undefined }>;
  /** Deletes the reservation; 'not-found' when there is none, 'not-reserved' when the key has a TTL (a live lease). */
  remove(
    subnets: { readonly subnet: IPNetwork | undefined; readonly ipv6Subnet: IPNetwork | undefined },
    signal: AbortSignal,
  ): Promise<{ readonly outcome: 'removed' | 'not-found' | 'not-reserved'; readonly key: string }>;
}

/** The store as flannelctl uses it: list leases, read/write the config, reservations, removals. */
export interface CtlStore {
  readonly kind: 'etcd' | 'kube';
  /** For messages: the etcd endpoints or the API server. */
  readonly where: string;
  listLeases(signal: AbortSignal): Promise<LeaseListing>;
  /** The stored document, or undefined when there is none (etcd key missing, file missing). */
  getConfig(signal: AbortSignal): Promise<StoredConfig | undefined>;
  /** Writes the document as given (the caller validates first). Kube: throws UnsupportedError. */
  putConfig(text: string, signal: AbortSignal): Promise<StoredConfig>;
  /**
   * Removes a listed lease (leases gc -apply). etcd: deletes the key if it has not changed since
   * the listing and revokes its etcd lease; kube: removes flannel's annotations from the node,
   * so peers drop it (its flanneld publishes them again if it comes back). Returns false when
   * the lease changed meanwhile (then nothing was removed).
   */
  removeLease(lease: StoreLease, signal: AbortSignal): Promise<boolean>;
  /** etcd only; undefined in kube mode (flannel's kube mode has no reservations). */
  readonly reservations: ReservationStore | undefined;
  close(): void;
}

export interface CtlContext {
  readonly options: CtlOptions;
  /** The process environment (FLANNELD_* already folded into options). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Standard input as text; rejects when flannelctl was given none to read. */
  readStdin(signal: AbortSignal): Promise<string>;
  /** Opens the store on first use (one per invocation); closed by the dispatcher at exit. */
  store(signal: AbortSignal): Promise<CtlStore>;
  /** Milliseconds since the epoch (tests fix it). */
  now(): number;
}

/** Opens the store for a context; tests pass a fake. */
export type StoreOpener = (options: CtlOptions, env: Readonly<Record<string, string | undefined>>, signal: AbortSignal) => Promise<CtlStore>;

/** A context with a cached store; `close()` closes the store if one was opened. */
export function createCtlContext(o: {
  options: CtlOptions;
  env: Readonly<Record<string, string | undefined>>;
  io: CtlIO;
  openStore?: StoreOpener;
  now?: () => number;
}): CtlContext & { close(): void } {
  let opened: Promise<CtlStore> | undefined;
  const open: StoreOpener = o.openStore ?? defaultOpenStore;
  return {
    options: o.options,
    env: o.env,
    stdout: o.io.stdout,
    stderr: o.io.stderr,
    readStdin: (signal) => {
      if (!o.io.readStdin) return Promise.reject(new Error('no standard input to read'));
      return o.io.readStdin(signal);
    },
    store: (signal) => {
      opened ??= open(o.options, o.env, signal);
      // A failed open is not cached: the next call tries again.
      opened.catch(() => (opened = undefined));
      return opened;
    },
    now: o.now ?? Date.now,
    close: () => {
      void opened?.then((s) => s.close(), () => {});
    },
  };
}

/** etcd (EtcdHttpClient) or kube (KubeHttp), each imported only in its mode. */
async function defaultOpenStore(options: CtlOptions, env: Readonly<Record<string, string | undefined>>, signal: AbortSignal): Promise<CtlStore> {
  if (options.kubeSubnetMgr) {
    const { openKubeStore } = await import('./kube-store.js');
    return openKubeStore(options, env, signal);
  }
  const { openEtcdStore } = await import('./etcd-store.js');
  return openEtcdStore(options);
}
