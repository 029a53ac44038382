/**
 * aws-vpc against the EC2 + IMDS stand-in, in-process on 127.0.0.1, through the real
 * @aws-sdk/client-ec2 and the SDK's IMDS helpers (endpoints from AWS_ENDPOINT_URL_EC2 and
 * AWS_EC2_METADATA_SERVICE_ENDPOINT, credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { AsyncQueue } from '../../src/async/async-queue.js';
import type { BackendContext, Network } from '../../src/backend/backend.js';
import { AwsVpcBackend } from '../../src/backend/awsvpc/awsvpc-backend.js';
import { CloudApiError, RouteTableFullError } from '../../src/backend/cloud/cloud-errors.js';
import { validateNetworkConfig } from '../../src/config/network-config.js';
import { IPAddress } from '../../src/ip/ip-address.js';
import { IPNetwork } from '../../src/ip/ip-network.js';
import type { Lease, LeaseEvent } from '../../src/lease/lease.js';
import { createLogger } from '../../src/log/logger.js';
import { Ec2Standin, MAIN_TABLE, ROLE_KEY, type StandinRoute } from './ec2-standin.js';

const KEY = 'AKIASTANDINEXAMPLE1';
const SECRET = 'standin-secret-key';
const SUBNET_TABLE = 'rtb-0b2b2b2b';
const SELF_ENI = 'eni-07f000001'; // 127.0.0.1
const OWN = '10.244.1.0/24';

let server: Server;
let standin: Ec2Standin;
let logLines: string[] = [];

function ctx(backend: Record<string, unknown> = {}, ownSubnet = OWN): BackendContext {
  return {
    config: validateNetworkConfig({ Network: '10.244.0.0/16', Backend: { Type: 'aws-vpc', ...backend } }, { knownBackends: ['aws-vpc'] }),
    extIface: { name: 'lo', mtu: 9001, ifaceAddr: IPAddress.parse('127.0.0.1'), ifaceV6Addr: undefined, extAddr: IPAddress.parse('127.0.0.1'), extV6Addr: undefined },
    logger: createLogger({ sink: { write: (l) => logLines.push(l) }, component: 'aws-vpc' }),
    acquireLease: (attrs) => Promise.resolve({ subnet: IPNetwork.parse(ownSubnet), ipv6Subnet: undefined, attrs, expiration: undefined }),
    kernel: () => {
      throw new Error('aws-vpc uses no kernel');
    },
    resyncMs: 50,
  };
}

const backend = () => new AwsVpcBackend({ backoffInitialMs: 20, backoffMaxMs: 200, orphanGraceMs: 0, startAttempts: 2 });

function lease(subnet: string): Lease {
  return { subnet: IPNetwork.parse(subnet), ipv6Subnet: undefined, attrs: { publicIP: undefined, publicIPv6: undefined, backendType: undefined, backendData: undefined, backendV6Data: undefined }, expiration: undefined };
}

function routes(table: string): Map<string, StandinRoute> {
  return standin.tables.get(table)!.routes;
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}; log:\n${logLines.join('')}`);
}

/** Runs the network with a lease event queue until stop(). */
function running(net: Network): { q: AsyncQueue<readonly LeaseEvent[]>; stop: () => Promise<void> } {
  const ac = new AbortController();
  const q = new AsyncQueue<readonly LeaseEvent[]>(ac.signal);
  const done = net.run(q, ac.signal);
  const stop = async () => {
    ac.abort();
    q.close();
    await done;
  };
  live.push(stop);
  return { q, stop };
}

/** Loops still running after a test (it failed before stop()): stopped, else the process never exits. */
const live: (() => Promise<void>)[] = [];

describe('aws-vpc through @aws-sdk/client-ec2 against the EC2 stand-in', () => {
  before(async () => {
    server = createServer((req, res) => standin.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_EC2: url,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: url,
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    });
    delete process.env['AWS_PROFILE'];
    delete process.env['AWS_SESSION_TOKEN'];
    delete process.env['AWS_REGION'];
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  afterEach(async () => {
    for (const stop of live.splice(0)) await stop();
  });
  beforeEach(() => {
    standin = new Ec2Standin({});
    process.env['AWS_ACCESS_KEY_ID'] = KEY;
    process.env['AWS_SECRET_ACCESS_KEY'] = SECRET;
    logLines = [];
  });

  it('discovers the subnet’s table, turns off SourceDestCheck, puts the own route to the ENI', async () => {
    const net = await backend().registerNetwork(ctx(), AbortSignal.timeout(10_000));
    assert.equal(net.lease.subnet?.toString(), OWN);
    assert.equal(routes(SUBNET_TABLE).get(OWN)?.target, SELF_ENI);
    assert.equal(routes(MAIN_TABLE).has(OWN), false, 'only the discovered table');
    assert.equal([...standin.instances.values()][0]?.sourceDestCheck, false);
    assert.equal(standin.counts['ModifyNetworkInterfaceAttribute'], 1);
    assert.ok(!logLines.join('').includes(SECRET), 'the secret is never logged');
  });

  it('uses the VPC main table when the subnet has none, and every listed RouteTableID', async () => {
    standin = new Ec2Standin({ tables: 'rtb-0c3c3c3c', subnetTable: '' });
    await backend().registerNetwork(ctx(), AbortSignal.timeout(10_000));
    assert.equal(routes(MAIN_TABLE).get(OWN)?.target, SELF_ENI);
    standin = new Ec2Standin({ tables: 'rtb-0c3c3c3c,rtb-0d4d4d4d' });
    await backend().registerNetwork(ctx({ RouteTableID: ['rtb-0c3c3c3c', 'rtb-0d4d4d4d'] }), AbortSignal.timeout(10_000));
    assert.equal(routes('rtb-0c3c3c3c').get(OWN)?.target, SELF_ENI);
    assert.equal(routes('rtb-0d4d4d4d').get(OWN)?.target, SELF_ENI);
    assert.equal(routes(MAIN_TABLE).has(OWN), false);
  });

  it('replaces the own destination pointing elsewhere (RouteAlreadyExists -> ReplaceRoute)', async () => {
    standin.controlAction('POST /routes/add', { table: SUBNET_TABLE, destination: OWN, target: 'eni-0dead' });
    await backend().registerNetwork(ctx(), AbortSignal.timeout(10_000));
    assert.equal(routes(SUBNET_TABLE).get(OWN)?.target, SELF_ENI);
    assert.equal(standin.counts['ReplaceRoute'], 1);
  });

  it('removes a removed lease’s route and orphans inside the network, re-adds the own route, leaves the rest', async () => {
    const add = (destination: string, target: string) => standin.controlAction('POST /routes/add', { table: SUBNET_TABLE, destination, target });
    add('0.0.0.0/0', 'igw-0abc');
    add('10.244.0.0/16', 'pcx-0abc');
    add('172.16.0.0/24', 'eni-0other');
    add('10.244.2.0/24', 'eni-0two');
    add('10.244.3.0/24', 'eni-0three');
    add('10.244.9.0/24', 'eni-0gone');
    const net = await backend().registerNetwork(ctx(), AbortSignal.timeout(10_000));
    const r = running(net);
    r.q.push([{ type: 'added', lease: lease('10.244.2.0/24') }, { type: 'added', lease: lease('10.244.3.0/24') }]);
    await waitFor(() => !routes(SUBNET_TABLE).has('10.244.9.0/24'), 'orphan removed');
    r.q.push([{ type: 'removed', lease: lease('10.244.3.0/24') }]);
    await waitFor(() => !routes(SUBNET_TABLE).has('10.244.3.0/24'), 'removed lease’s route gone');
    standin.controlAction('POST /routes/delete', { table: SUBNET_TABLE, destination: OWN });
    await waitFor(() => routes(SUBNET_TABLE).get(OWN)?.target === SELF_ENI, 'own route back');
    await r.stop();
    const left = [...routes(SUBNET_TABLE).keys()].sort();
    assert.deepEqual(left, ['0.0.0.0/0', '10.244.0.0/16', OWN, '10.244.2.0/24', '172.16.0.0/24', '192.168.0.0/16'].sort());
  });

  it('survives throttling and server errors at start-up and while running', async () => {
    standin.controlAction('POST /fault', { throttle: 1, serverError: 1 });
    const net = await backend().registerNetwork(ctx(), AbortSignal.timeout(10_000));
    assert.equal(routes(SUBNET_TABLE).get(OWN)?.target, SELF_ENI);
    const r = running(net);
    r.q.push([]);
    standin.controlAction('POST /fault', { throttle: 3 });
    standin.controlAction('POST /routes/delete', { table: SUBNET_TABLE, destination: OWN });
    await waitFor(() => routes(SUBNET_TABLE).get(OWN)?.target === SELF_ENI, 'own route back after throttling');
    await r.stop();
    assert.match(logLines.join(''), /RequestLimitExceeded/);
  });

  it('survives an API outage (1 s of 503s, then 1 s of dropped connections) and catches up; the 10 s outage runs in the cluster test', async () => {
    const net = await backend().registerNetwork(ctx(), AbortSignal.timeout(10_000));
    const r = running(net);
    r.q.push([{ type: 'added', lease: lease('10.244.5.0/24') }]);
    standin.controlAction('POST /routes/add', { table: SUBNET_TABLE, destination: '10.244.5.0/24', target: 'eni-0five' });
    // The stand-in answers 503 for 1 s, then drops connections for 1 s; the backoff cap (200 ms
    // here, the resync period in production) keeps the test short.
    standin.controlAction('POST /fault', { outageMs: 1000 });
    r.q.push([{ type: 'removed', lease: lease('10.244.5.0/24') }]);
    standin.controlAction('POST /routes/delete', { table: SUBNET_TABLE, destination: OWN });
    await waitFor(() => (standin.counts['DescribeRouteTables'] ?? 0) >= 4 && routes(SUBNET_TABLE).has('10.244.5.0/24'), 'failing passes');
    standin.controlAction('POST /fault', { dropMs: 1000 });
    await waitFor(() => routes(SUBNET_TABLE).get(OWN)?.target === SELF_ENI && !routes(SUBNET_TABLE).has('10.244.5.0/24'), 'caught up after the outage');
    // The stand-in has the tables right as soon as it took the pass's last write; the pass ends
    // (and logs that it caught up) when its answer comes back: stopping before then races it.
    await waitFor(() => logLines.join('').includes('caught up'), 'the pass that caught up has ended');
    await r.stop();
    const log = logLines.join('');
    assert.match(log, /Unavailable/);
    assert.match(log, /caught up/);
  });

  it('with no keys in the environment, signs with the instance role’s credentials from IMDS (the SDK default chain)', async () => {
    delete process.env['AWS_ACCESS_KEY_ID'];
    delete process.env['AWS_SECRET_ACCESS_KEY'];
    await backend().registerNetwork(ctx(), AbortSignal.timeout(10_000));
    assert.equal(routes(SUBNET_TABLE).get(OWN)?.target, SELF_ENI);
    assert.equal(standin.authFailures, 0);
    assert.deepEqual(Object.keys(standin.signedBy), [ROLE_KEY]);
  });

  it('wrong credentials: a clear AuthFailure at start-up, not retried', async () => {
    process.env['AWS_SECRET_ACCESS_KEY'] = 'not-the-secret';
    await assert.rejects(backend().registerNetwork(ctx(), AbortSignal.timeout(10_000)), (err: unknown) => {
      assert.ok(err instanceof CloudApiError, String(err));
      assert.equal(err.apiCode, 'AuthFailure');
      assert.equal(err.retryable, false);
      assert.match(err.message, /DescribeRouteTables.*AuthFailure.*credentials/);
      assert.ok(!err.message.includes('not-the-secret'));
      return true;
    });
    assert.ok(standin.authFailures >= 1);
    assert.ok(!logLines.join('').includes('not-the-secret'));
  });

  it('a missing table: InvalidRouteTableID.NotFound naming it', async () => {
    await assert.rejects(backend().registerNetwork(ctx({ RouteTableID: 'rtb-0eeeeeee' }), AbortSignal.timeout(10_000)), (err: unknown) => {
      assert.ok(err instanceof CloudApiError, String(err));
      assert.equal(err.apiCode, 'InvalidRouteTableID.NotFound');
      assert.match(err.message, /rtb-0eeeeeee/);
      return true;
    });
  });

  it('a full table: RouteTableFullError naming the table and the limit', async () => {
    standin.controlAction('POST /fault', { routeLimit: 1 });
    await assert.rejects(backend().registerNetwork(ctx(), AbortSignal.timeout(10_000)), (err: unknown) => {
      assert.ok(err instanceof RouteTableFullError, String(err));
      assert.equal(err.table, SUBNET_TABLE);
      assert.match(err.message, new RegExp(`${SUBNET_TABLE}.*RouteLimitExceeded.*Routes per route table`));
      return true;
    });
    assert.match(logLines.join(''), /rtb-0b2b2b2b is full/);
  });

  it('IMDS refuses a GET without a session token (401), as IMDSv2 with HttpTokens=required', async () => {
    const url = process.env['AWS_EC2_METADATA_SERVICE_ENDPOINT']!;
    const bare = await fetch(`${url}/latest/meta-data/instance-id`);
    assert.equal(bare.status, 401);
    const tok = await fetch(`${url}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } });
    const withTok = await fetch(`${url}/latest/meta-data/instance-id`, { headers: { 'x-aws-ec2-metadata-token': await tok.text() } });
    assert.equal(await withTok.text(), 'i-07f000001');
  });
});
