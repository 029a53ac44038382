/**
 * An in-memory CloudProvider for the shared loop's unit tests: tables of routes, a record of
 * every call, and scripted failures (the next N calls of an operation throw a given error).
 */
import type { IPNetwork } from '../../src/ip/ip-network.js';
import type { CloudProvider, CloudRoute, CloudRouteTable } from '../../src/backend/cloud/route-table.js';

export type FakeOp = 'list' | 'put' | 'remove';

export class FakeRouteTable implements CloudRouteTable {
  /** destination -> target ("self" for this instance). */
  readonly routes = new Map<string, string>();
  readonly calls: string[] = [];
  private readonly failures: { op: FakeOp | 'any'; err: Error; left: number }[] = [];

  constructor(
    readonly name: string,
    private readonly self = 'i-self',
  ) {}

  /** The next `times` calls of `op` throw `err`. */
  failNext(op: FakeOp | 'any', err: Error, times = 1): void {
    this.failures.push({ op, err, left: times });
  }

  clearFailures(): void {
    this.failures.length = 0;
  }

  private check(op: FakeOp, signal: AbortSignal): void {
    signal.throwIfAborted();
    const f = this.failures.find((x) => (x.op === op || x.op === 'any') && x.left > 0);
    if (f) {
      f.left--;
      throw f.err;
    }
  }

  list(signal: AbortSignal): Promise<CloudRoute[]> {
    this.calls.push('list');
    this.check('list', signal);
    return Promise.resolve([...this.routes].map(([destination, target]) => ({ destination, target, targetsThisInstance: target === this.self })));
  }

  put(destination: IPNetwork, signal: AbortSignal): Promise<void> {
    this.calls.push(`put ${destination.toString()}`);
    this.check('put', signal);
    this.routes.set(destination.toString(), this.self);
    return Promise.resolve();
  }

  remove(route: CloudRoute, signal: AbortSignal): Promise<void> {
    this.calls.push(`remove ${route.destination}`);
    this.check('remove', signal);
    this.routes.delete(route.destination);
    return Promise.resolve();
  }
}

export function fakeProvider(tables: FakeRouteTable[], type = 'fake-vpc'): CloudProvider {
  return { type, instance: 'i-self', tables };
}
