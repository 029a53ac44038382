/**
 * The stand-in API server's storage of Nodes (and the one Pod kind it serves): one global
 * resourceVersion counter, as etcd's revision is for a real API server, bumped by every write;
 * a history of watch events kept from the last compaction on. Follows "API Concepts"
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/): "Resource versions" (opaque
 * strings, here decimal), "Efficient detection of changes" (events after a version), "410 Gone
 * responses" (versions older than the history are expired).
 */
import { randomUUID } from 'node:crypto';
import { clone, deepEqual } from './merge-patch.js';

export type NodeObject = {
  kind?: string;
  apiVersion?: string;
  metadata: {
    name: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  spec?: { podCIDR?: string; podCIDRs?: string[]; [k: string]: unknown };
  status?: { conditions?: Array<Record<string, unknown>>; [k: string]: unknown };
};

export interface StoredEvent {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: NodeObject;
}

export interface NodeSpecInput {
  name: string;
  podCIDR?: string;
  podCIDRs?: string[];
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  /** Extra status (conditions, addresses, images) to make nodes as big as real ones. */
  status?: NodeObject['status'];
  /** metadata.managedFields (server-side apply bookkeeping; a real node carries several entries). */
  managedFields?: unknown[];
  /** spec.providerID and other spec fields besides the pod CIDRs. */
  spec?: Record<string, unknown>;
}

export class NodeStore {
  private readonly nodes = new Map<string, NodeObject>();
  private readonly history: StoredEvent[] = [];
  private rv = 1;
  /** Watches may start at versions >= this; older ones are expired (410). */
  private oldestWatchable = 1;
  private readonly listeners = new Set<(ev: StoredEvent) => void>();
  readonly pods = new Map<string, { metadata: { name: string; namespace: string }; spec: { nodeName?: string } }>();

  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Whether a watch may start after `rv` (that is, every event since is still in the history). */
  canWatchFrom(rv: number): boolean {
    return rv >= this.oldestWatchable - 1 && rv <= this.rv;
  }

  list(): NodeObject[] {
    return [...this.nodes.values()].map((n) => clone(n));
  }

  get(name: string): NodeObject | undefined {
    const n = this.nodes.get(name);
    return n && clone(n);
  }

  eventsAfter(rv: number): StoredEvent[] {
    return this.history.filter((e) => e.rv > rv);
  }

  subscribe(fn: (ev: StoredEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Forgets the history: a watch from any version before the current one gets 410 Gone. */
  compact(): void {
    this.history.length = 0;
    this.oldestWatchable = this.rv + 1;
  }

  create(input: NodeSpecInput): NodeObject {
    if (this.nodes.has(input.name)) throw new Error(`node ${input.name} exists`);
    const node: NodeObject = {
      metadata: {
        name: input.name,
        uid: randomUUID(),
        creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        labels: { 'kubernetes.io/hostname': input.name, ...input.labels },
        annotations: { ...input.annotations },
        ...(input.managedFields ? { managedFields: clone(input.managedFields) } : {}),
      },
      spec: clone(input.spec ?? {}),
      status: clone(input.status ?? {}),
    };
    const podCIDRs = input.podCIDRs ?? (input.podCIDR ? [input.podCIDR] : undefined);
    if (podCIDRs && podCIDRs.length > 0 && node.spec) {
      node.spec.podCIDR = podCIDRs[0];
      node.spec.podCIDRs = [...podCIDRs];
    }
    return this.commit('ADDED', node);
  }

  /** Replaces a node's content (name and uid kept); no write when nothing changed. */
  replace(name: string, next: NodeObject): NodeObject {
    const old = this.nodes.get(name);
    if (!old) throw new Error(`node ${name} not found`);
    const candidate = clone(next);
    candidate.metadata = { ...candidate.metadata, name, uid: old.metadata.uid, creationTimestamp: old.metadata.creationTimestamp, resourceVersion: old.metadata.resourceVersion };
    if (deepEqual(candidate, old)) return clone(old);
    return this.commit('MODIFIED', candidate);
  }

  update(name: string, mutate: (n: NodeObject) => void): NodeObject {
    const n = this.get(name);
    if (!n) throw new Error(`node ${name} not found`);
    mutate(n);
    return this.replace(name, n);
  }

  delete(name: string): boolean {
    const old = this.nodes.get(name);
    if (!old) return false;
    this.nodes.delete(name);
    this.commit('DELETED', clone(old));
    return true;
  }

  private commit(type: StoredEvent['type'], node: NodeObject): NodeObject {
    this.rv++;
    node.metadata.resourceVersion = String(this.rv);
    if (type !== 'DELETED') this.nodes.set(node.metadata.name, node);
    const ev: StoredEvent = { rv: this.rv, type, object: clone(node) };
    this.history.push(ev);
    for (const l of this.listeners) l(ev);
    return clone(node);
  }
}
