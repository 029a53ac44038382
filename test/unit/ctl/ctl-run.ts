/** Runs flannelctlMain in-process with captured output, an optional store and standard input. */
import { flannelctlMain } from '../../../src/ctl/ctl-main.js';
import type { CtlStore } from '../../../src/ctl/ctl-context.js';
import { EtcdCtlStore, type EtcdStoreClient } from '../../../src/ctl/etcd-store.js';
import { FakeEtcdKV } from '../../fakes/fake-etcd-kv.js';

export interface RunResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export async function runCtl(
  argv: readonly string[],
  o: { env?: Record<string, string>; store?: CtlStore | 'real'; stdin?: string; now?: number } = {},
): Promise<RunResult> {
  let out = '';
  let err = '';
  const code = await flannelctlMain(
    argv,
    o.env ?? {},
    {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      readStdin: o.stdin === undefined ? undefined : () => Promise.resolve(o.stdin ?? ''),
    },
    {
      openStore: o.store === 'real' ? undefined : o.store ? () => Promise.resolve(o.store as CtlStore) : () => Promise.reject(new Error('no store in this test')),
      now: o.now === undefined ? undefined : () => o.now ?? 0,
    },
  );
  return { code, out, err };
}

/** FakeEtcdKV with etcd's lease time-to-live (TTL left, TTL granted) that tests set per lease. */
export class TtlFakeEtcd extends FakeEtcdKV {
  readonly ttl = new Map<string, { ttlSeconds: number; grantedTtlSeconds: number }>();
  leaseTimeToLive(id: string): Promise<{ ttlSeconds: number; grantedTtlSeconds: number }> {
    return Promise.resolve(this.ttl.get(id) ?? { ttlSeconds: -1, grantedTtlSeconds: 0 });
  }
}

export const PREFIX = '/coreos.com/network';

/** An EtcdCtlStore over a fake etcd (whose close() does nothing, so it stays usable for assertions). */
export function etcdStore(kv: TtlFakeEtcd): EtcdCtlStore {
  const client: EtcdStoreClient = kv;
  return new EtcdCtlStore(client, PREFIX, 'fake://etcd');
}
