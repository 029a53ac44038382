/**
 * The tencent-vpc backend driven through the real SDK (tencentcloud-sdk-nodejs-common's
 * CommonClient, TC3-HMAC-SHA256) against the in-process Tencent stand-in on 127.0.0.1: routes
 * put and removed through the shared loop, nothing outside the cluster network touched,
 * throttling, 5xx and a 10 s outage survived (the stand-in's clock is advanced, so the test does
 * not wait 10 s), and wrong credentials, a missing table and the 50-route quota as clear errors.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BackendContext } from '../../src/backend/backend.js';
import { CloudApiError, RouteTableFullError } from '../../src/backend/cloud/cloud-errors.js';
import { TencentVpcBackend } from '../../src/backend/tencentvpc/tencent-vpc-backend.js';
import type { Lease } from '../../src/lease/lease.js';
import { cloudBackendContext, cloudLease, runNetwork, startStandinRig, type RunningNetwork, type StandinRig } from './cloud-test-rig.js';
import { TencentStandin, type TencentStandinRoute, type TencentStandinState } from './tencent-standin.js';

const SECRET_ID = 'AKIDtencentvpctest00000000000000000';
const SECRET_KEY = 'tencent-vpc-test-secret-key-0001';
const OWN = '10.244.1.0/24';
const SELF_IP = '192.168.0.5';
const FAST = { backoffInitialMs: 5, backoffMaxMs: 40, orphanGraceMs: 0, resyncMs: 40, startAttempts: 3 };

type Rig = StandinRig<TencentStandin>;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ftst-tencent-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function rig(options: Record<string, string> = {}): Promise<Rig> {
  return startStandinRig(dir, (now) => new TencentStandin({ secretId: SECRET_ID, secretKey: SECRET_KEY, ...options }, now));
}

const lease = (subnet: string): Lease => cloudLease(subnet, '192.168.0.9');

function context(lines: string[]): BackendContext {
  return cloudBackendContext({ type: 'tencent-vpc', selfIp: SELF_IP, mtu: 1500, ownSubnet: OWN, resyncMs: FAST.resyncMs, lines });
}

function envFor(r: Rig, over: Record<string, string> = {}): Record<string, string> {
  return { ACCESS_KEY_ID: SECRET_ID, ACCESS_KEY_SECRET: SECRET_KEY, TENCENTCLOUD_VPC_ENDPOINT: r.url, TENCENTCLOUD_METADATA_ENDPOINT: r.url, ...over };
}

function routes(state: TencentStandinState): TencentStandinRoute[] {
  return state.tables[0]?.routes ?? [];
}

function routeTo(state: TencentStandinState, dest: string): TencentStandinRoute | undefined {
  return routes(state).find((x) => x.DestinationCidrBlock === dest);
}

async function until(r: Rig, cond: (s: TencentStandinState) => boolean, what: string, timeoutMs = 8000): Promise<TencentStandinState> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = r.standin.state();
    if (cond(s)) return s;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}; state: ${JSON.stringify(routes(s).map((x) => `${x.DestinationCidrBlock}->${x.GatewayId}`))} answered ${JSON.stringify(s.answered)}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

async function start(r: Rig, lines: string[], env?: Record<string, string>): Promise<RunningNetwork> {
  return runNetwork(await new TencentVpcBackend(env ?? envFor(r), FAST).registerNetwork(context(lines), AbortSignal.timeout(10_000)));
}

describe('tencent-vpc through the SDK against the stand-in', () => {
  it('puts the own route as flannel does, removes a removed lease\'s route and leaves everything outside the network alone', async () => {
    const foreign = { DestinationCidrBlock: '192.168.100.0/24', GatewayType: 'NORMAL_CVM', GatewayId: '172.16.0.9' };
    const whole = { DestinationCidrBlock: '10.244.0.0/16', GatewayType: 'NAT', GatewayId: 'nat-00000001' };
    const r = await rig({ seedRoutes: JSON.stringify([foreign, whole]) });
    const lines: string[] = [];
    try {
      const { net, q, ac, running } = await start(r, lines);
      let s = r.standin.state();
      const own = routeTo(s, OWN);
      assert.deepEqual([own?.GatewayType, own?.GatewayId, own?.Enabled, own?.RouteType], ['NORMAL_CVM', SELF_IP, true, 'USER']);
      assert.equal(net.lease.subnet?.toString(), OWN);
      // Another host's route, then its lease comes and goes.
      await r.control('POST', '/routes/add', { DestinationCidrBlock: '10.244.2.0/24', GatewayType: 'NORMAL_CVM', GatewayId: '192.168.0.9' });
      q.push([{ type: 'added', lease: lease('10.244.2.0/24') }]);
      await new Promise((res) => setTimeout(res, 3 * FAST.resyncMs));
      assert.ok(routeTo(r.standin.state(), '10.244.2.0/24'), 'a leased remote route stays');
      q.push([{ type: 'removed', lease: lease('10.244.2.0/24') }]);
      s = await until(r, (st) => !routeTo(st, '10.244.2.0/24'), 'the removed lease\'s route to go');
      // Untouched: the VPC's local route, a route outside the network, a route for the whole network.
      assert.ok(routeTo(s, '172.16.0.0/16'));
      assert.ok(routeTo(s, foreign.DestinationCidrBlock));
      assert.ok(routeTo(s, whole.DestinationCidrBlock));
      assert.ok(routeTo(s, OWN));
      assert.deepEqual(Object.keys(s.calls).sort(), ['CreateRoutes', 'DeleteRoutes', 'DescribeRouteTables']);
      ac.abort();
      await running;
      const log = lines.join('');
      assert.match(log, /region ap-guangzhou, VPC vpc-flannel1/);
      assert.match(log, /rtb-flannel1/);
      assert.ok(!log.includes(SECRET_KEY), 'the secret is never logged');
    } finally {
      await r.close();
    }
  });

  it('replaces a disabled or re-pointed own route, and puts back a route deleted by hand', async () => {
    const r = await rig({ seedRoutes: JSON.stringify([{ DestinationCidrBlock: OWN, GatewayType: 'NORMAL_CVM', GatewayId: '192.168.0.77' }]) });
    try {
      const { ac, running } = await start(r, []);
      assert.equal(routeTo(r.standin.state(), OWN)?.GatewayId, SELF_IP, 'pointed elsewhere -> replaced');
      await r.control('POST', '/routes/delete', { destination: OWN });
      await until(r, (s) => routeTo(s, OWN)?.GatewayId === SELF_IP, 'the hand-deleted route to return');
      ac.abort();
      await running;
    } finally {
      await r.close();
    }
  });

  it('a table that fills up while running is logged as full, naming table and limit, and the route returns once there is room', async () => {
    const r = await rig();
    const lines: string[] = [];
    try {
      const { ac, running } = await start(r, lines);
      await r.control('POST', '/routes/delete', { destination: OWN });
      await r.control('POST', '/quota', { limit: routes(r.standin.state()).length });
      const end = Date.now() + 8000;
      while (!/route table rtb-flannel1 is full \(its limit of 50 routes\)/.test(lines.join('')) && Date.now() < end) await new Promise((res) => setTimeout(res, 10));
      assert.match(lines.join(''), /E\d{4} .*route table rtb-flannel1 is full \(its limit of 50 routes\)/);
      assert.equal(routeTo(r.standin.state(), OWN), undefined);
      await r.control('POST', '/quota', { limit: 50 });
      await until(r, (st) => routeTo(st, OWN) !== undefined, 'the route back once the quota allows it');
      ac.abort();
      await running;
    } finally {
      await r.close();
    }
  });

  it('survives throttling, InternalError, HTTP 503 and a 10 s outage, then catches up', async () => {
    const r = await rig();
    const lines: string[] = [];
    try {
      await r.control('POST', '/fault', { kind: 'throttle', count: 2 });
      const { ac, running } = await start(r, lines);
      assert.ok(routeTo(r.standin.state(), OWN), 'the start retried past RequestLimitExceeded');
      assert.equal(r.standin.state().answered['RequestLimitExceeded'], 2);

      await r.control('POST', '/fault', { kind: 'internal', count: 2 });
      await r.control('POST', '/fault', { kind: 'http5xx', count: 2 });
      await r.control('POST', '/routes/delete', { destination: OWN });
      await until(r, (s) => routeTo(s, OWN) !== undefined, 'the route back after InternalError and 503');

      // The API goes away for 10 s (stand-in time): every connection is reset.
      await r.control('POST', '/fault', { kind: 'outage', ms: 10_000 });
      await r.control('POST', '/routes/delete', { destination: OWN });
      await until(r, (s) => (s.answered['reset'] ?? 0) >= 3, 'three failed passes during the outage');
      let settled = false;
      void running.then(() => (settled = true));
      await new Promise((res) => setTimeout(res, 20));
      assert.equal(settled, false, 'the loop keeps running through the outage');
      assert.equal(routeTo(r.standin.state(), OWN), undefined);
      r.clock.offset += 10_001;
      await until(r, (s) => routeTo(s, OWN) !== undefined, 'the route back once the API returns');
      ac.abort();
      await running;
      assert.match(lines.join(''), /reachable again after \d+ failed passes/);
    } finally {
      await r.close();
    }
  });

  it('wrong credentials: AuthFailure.SignatureFailure / AuthFailure.SecretIdNotFound, not retried, secret not in the message', async () => {
    const r = await rig();
    try {
      for (const [env, code] of [
        [{ ACCESS_KEY_SECRET: 'not-the-right-secret-key-000000' }, 'AuthFailure.SignatureFailure'],
        [{ ACCESS_KEY_ID: 'AKIDunknown000000000000000000000000' }, 'AuthFailure.SecretIdNotFound'],
      ] as const) {
        const seenBefore = r.standin.state().calls['DescribeRouteTables'] ?? 0;
        await assert.rejects(new TencentVpcBackend(envFor(r, env), FAST).registerNetwork(context([]), AbortSignal.timeout(10_000)), (err: unknown) => {
          assert.ok(err instanceof CloudApiError, String(err));
          assert.equal(err.apiCode, code);
          assert.equal(err.retryable, false);
          assert.match(err.message, /tencent-vpc DescribeRouteTables/);
          assert.ok(!err.message.includes('not-the-right-secret'));
          return true;
        });
        assert.equal((r.standin.state().calls['DescribeRouteTables'] ?? 0) - seenBefore, 1, 'an auth failure is not retried');
      }
    } finally {
      await r.close();
    }
  });

  it('a VPC without a route table, and a table deleted while running, are clear errors', async () => {
    const r = await rig();
    try {
      await r.control('POST', '/tables/delete', {});
      await assert.rejects(new TencentVpcBackend(envFor(r), FAST).registerNetwork(context([]), AbortSignal.timeout(10_000)), (err: unknown) => {
        assert.ok(err instanceof CloudApiError);
        assert.match(err.message, /route table of VPC vpc-flannel1: none found/);
        assert.equal(err.retryable, false);
        return true;
      });
    } finally {
      await r.close();
    }
    const r2 = await rig();
    const lines: string[] = [];
    try {
      const { ac, running } = await start(r2, lines);
      await r2.control('POST', '/tables/delete', {});
      const end = Date.now() + 8000;
      while (!lines.join('').includes('route table rtb-flannel1: not found') && Date.now() < end) await new Promise((res) => setTimeout(res, 10));
      assert.match(lines.join(''), /E\d{4} .*route reconcile failed .*route table rtb-flannel1: not found/);
      ac.abort();
      await running;
    } finally {
      await r2.close();
    }
  });

  it('the 50-route quota: LimitExceeded becomes an error naming the table and the limit', async () => {
    // 1 local route + 49 others = 50: the own route is the 51st.
    const seed = Array.from({ length: 49 }, (_, i) => ({ DestinationCidrBlock: `10.${100 + Math.floor(i / 200)}.${i}.0/24`, GatewayType: 'NORMAL_CVM', GatewayId: '172.16.0.9' }));
    const r = await rig({ seedRoutes: JSON.stringify(seed) });
    try {
      await assert.rejects(new TencentVpcBackend(envFor(r), FAST).registerNetwork(context([]), AbortSignal.timeout(10_000)), (err: unknown) => {
        assert.ok(err instanceof RouteTableFullError, String(err));
        assert.equal(err.table, 'rtb-flannel1');
        assert.equal(err.limit, 50);
        assert.match(err.message, /rtb-flannel1 is full .*50 routes/);
        return true;
      });
      assert.equal(r.standin.state().answered['LimitExceeded'], 1);
    } finally {
      await r.close();
    }
  });
});

describe('tencent stand-in signature check (TC3-HMAC-SHA256, independent of the SDK)', () => {
  function sign(secretKey: string, body: string, ts: number, host: string): string {
    const date = new Date(ts * 1000).toISOString().slice(0, 10);
    const h = (d: string) => createHash('sha256').update(d).digest('hex');
    const canonical = ['POST', '/', '', `content-type:application/json\nhost:${host}\n`, 'content-type;host', h(body)].join('\n');
    const sts = ['TC3-HMAC-SHA256', String(ts), `${date}/vpc/tc3_request`, h(canonical)].join('\n');
    const k = (key: string | Buffer, d: string) => createHmac('sha256', key).update(d).digest();
    const sig = createHmac('sha256', k(k(k(`TC3${secretKey}`, date), 'vpc'), 'tc3_request')).update(sts).digest('hex');
    return `TC3-HMAC-SHA256 Credential=${SECRET_ID}/${date}/vpc/tc3_request, SignedHeaders=content-type;host, Signature=${sig}`;
  }

  it('accepts a request signed by the spec, rejects a tampered body and an expired timestamp', async () => {
    const r = await rig();
    try {
      const call = async (body: string, signedBody: string, ts: number) => {
        const res = await fetch(r.url, {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/json',
            'x-tc-action': 'DescribeRouteTables',
            'x-tc-version': '2017-03-12',
            'x-tc-region': 'ap-guangzhou',
            'x-tc-timestamp': String(ts),
            authorization: sign(SECRET_KEY, signedBody, ts, '127.0.0.1'),
          },
        });
        return ((await res.json()) as { Response: { Error?: { Code: string }; TotalCount?: number } }).Response;
      };
      const now = Math.floor(Date.now() / 1000);
      const ok = await call('{}', '{}', now);
      assert.equal(ok.Error, undefined);
      assert.equal(ok.TotalCount, 1);
      assert.equal((await call('{"Limit":"1"}', '{}', now)).Error?.Code, 'AuthFailure.SignatureFailure');
      assert.equal((await call('{}', '{}', now - 3600)).Error?.Code, 'AuthFailure.SignatureExpire');
    } finally {
      await r.close();
    }
  });
});
