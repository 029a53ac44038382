/** The request/dump/batch machinery against a fake kernel: no root needed. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KernelBatchError, KernelError, KernelNotFoundError } from '../../src/errors.js';
import { IPAddress } from '../../src/ip/ip-address.js';
import { IPNetwork } from '../../src/ip/ip-network.js';
import { deleteRoutes, parseRoute, replaceRoutes, type Route } from '../../src/kernel/route.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, RTM_NEWROUTE } from '../../src/kernel/netlink-constants.js';
import { NetlinkSocket } from '../../src/kernel/netlink-socket.js';
import { linkByName } from '../../src/kernel/link.js';
import { FakeRawSocket } from './fixtures/fake-raw-socket.js';

const ENETUNREACH = 101;
const ESRCH = 3;
const ENODEV = 19;

function routes(n: number): Route[] {
  const base = IPAddress.parse('10.64.0.0');
  return Array.from({ length: n }, (_, i) => {
    const dst = IPNetwork.of(base.add(BigInt(i) * 256n), 24);
    return { dst, gateway: dst.ip, linkIndex: 7, onlink: true };
  });
}

describe('NetlinkSocket over a fake kernel', () => {
  test('a batch goes out in chunks of 256, only the last of each asking for an ACK', async () => {
    const fake = new FakeRawSocket();
    const nl = NetlinkSocket.fromRaw(fake);
    const errnos = await nl.batch(
      routes(600).map(() => ({ type: RTM_NEWROUTE, flags: NLM_F_CREATE, body: Buffer.alloc(12) })),
      { op: 'test', object: 'batch' },
    );
    assert.equal(fake.sendCalls, 3);
    assert.equal(errnos.length, 600);
    assert.ok(errnos.every((e) => e === 0));
    const acked = fake.requests.flatMap((m, i) => (m.flags & NLM_F_ACK ? [i] : []));
    assert.deepEqual(acked, [255, 511, 599]);
    assert.equal(fake.refs, 0, 'idle socket is unreferenced');
  });

  test('replaceRoutes reports every failed route by name, and the rest still go in', async () => {
    const fake = new FakeRawSocket((m) => {
      const r = parseRoute(m);
      const failing = ['10.64.5.0/24', '10.65.44.0/24'];
      return { errno: r && failing.includes(r.dst.toString()) ? ENETUNREACH : 0 };
    });
    const nl = NetlinkSocket.fromRaw(fake);
    const err = await replaceRoutes(nl, routes(600)).then(
      () => assert.fail('expected a KernelBatchError'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof KernelBatchError);
    assert.ok(err instanceof KernelError);
    assert.equal(err.errnoName, 'ENETUNREACH');
    assert.equal(err.total, 600);
    assert.deepEqual(
      err.failures.map((f) => [f.object, f.errnoName]),
      [
        ['10.64.5.0/24 via 10.64.5.0 dev #7 onlink', 'ENETUNREACH'],
        ['10.65.44.0/24 via 10.65.44.0 dev #7 onlink', 'ENETUNREACH'],
      ],
    );
    assert.equal(fake.requests.length, 600);
    const first = fake.requests[0];
    assert.ok(first);
    assert.equal(first.flags & (NLM_F_CREATE | NLM_F_REPLACE), NLM_F_CREATE | NLM_F_REPLACE);
    assert.equal(parseRoute(first)?.onlink, true);
  });

  test('deleteRoutes counts "no such route" as success', async () => {
    const nl = NetlinkSocket.fromRaw(new FakeRawSocket(() => ({ errno: ESRCH })));
    await deleteRoutes(nl, routes(3));
  });

  test('a lookup of a missing link raises KernelNotFoundError naming it', async () => {
    const nl = NetlinkSocket.fromRaw(new FakeRawSocket(() => ({ errno: ENODEV })));
    await assert.rejects(linkByName(nl, 'flannel.9'), (e: unknown) => {
      assert.ok(e instanceof KernelNotFoundError);
      assert.equal(e.object, 'flannel.9');
      assert.equal(e.errnoName, 'ENODEV');
      assert.equal(e.code, 'ERR_KERNEL_NOT_FOUND');
      return true;
    });
  });

  test('a dump collects every part until NLMSG_DONE', async () => {
    const part = (n: number): { type: number; body: Buffer } => ({ type: RTM_NEWROUTE, body: Buffer.from([2, n, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0]) });
    const nl = NetlinkSocket.fromRaw(new FakeRawSocket(() => ({ dump: [part(8), part(16), part(24)] })));
    const got = await nl.dump(RTM_NEWROUTE + 2, Buffer.alloc(12), { op: 'list routes', object: 'all' });
    assert.deepEqual(
      got.map((m) => m.payload[1]),
      [8, 16, 24],
    );
  });

  test('an unanswered request ends with ETIMEDOUT; an aborted one with the abort reason', async () => {
    const nl = NetlinkSocket.fromRaw(new FakeRawSocket(() => ({ silent: true })));
    await assert.rejects(nl.request(RTM_NEWROUTE, 0, Buffer.alloc(12), { op: 'x', object: 'y' }, { timeoutMs: 20 }), (e: unknown) => {
      assert.ok(e instanceof KernelError);
      assert.equal(e.errnoName, 'ETIMEDOUT');
      return true;
    });
    const ac = new AbortController();
    const pending = nl.request(RTM_NEWROUTE, 0, Buffer.alloc(12), { op: 'x', object: 'y' }, { signal: ac.signal });
    ac.abort(new Error('stop'));
    await assert.rejects(pending, /stop/);
  });

  test('lost replies (ENOBUFS) fail every pending request', async () => {
    const fake = new FakeRawSocket(() => ({ silent: true }));
    const nl = NetlinkSocket.fromRaw(fake);
    const a = nl.request(RTM_NEWROUTE, 0, Buffer.alloc(12), { op: 'x', object: 'a' });
    const b = nl.request(RTM_NEWROUTE, 0, Buffer.alloc(12), { op: 'x', object: 'b' });
    fake.emit('error', Object.assign(new Error('recvmsg'), { errno: 105, code: 'ENOBUFS' }));
    for (const p of [a, b]) {
      await assert.rejects(p, (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOBUFS');
    }
  });
});
