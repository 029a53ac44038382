/**
 * The gce backend driven through the real SDK (@google-cloud/compute's REST transport, its auth
 * library's Application Default Credentials = the instance's service account through the
 * metadata server, gcp-metadata) against the in-process GCE stand-in on 127.0.0.1: routes put,
 * replaced and removed through the shared loop, only flannel's routes in the network touched,
 * throttling, 5xx and a 10 s outage survived (the stand-in's clock is run ahead, so the test does
 * not wait 10 s), and wrong credentials, a missing network and a full ROUTES quota as clear errors.
 *
 * GCE_METADATA_HOST is process-wide: each rig points it at its own stand-in (node --test runs
 * this file in its own process).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BackendContext } from '../../src/backend/backend.js';
import { CloudApiError, RouteTableFullError } from '../../src/backend/cloud/cloud-errors.js';
import { GCE_API_METHODS } from '../../src/backend/gce/gce-api-methods.js';
import { GceBackend } from '../../src/backend/gce/gce-backend.js';
import { ConfigError } from '../../src/errors.js';
import type { Lease } from '../../src/lease/lease.js';
import { GceStandin, type GceStandinRoute, type GceStandinState } from './gce-standin.js';
import { cloudBackendContext, cloudLease, runNetwork, startStandinRig, type RunningNetwork, type StandinRig } from './cloud-test-rig.js';

const PROJECT = 'flannel-test';
const OWN = '10.244.1.0/24';
const SELF_IP = '127.0.0.1';
const LINK = `https://www.googleapis.com/compute/v1/projects/${PROJECT}/`;
const SELF = `${LINK}zones/us-central1-a/instances/host-1`;
const NET = `${LINK}global/networks/default`;
const FAST = { backoffInitialMs: 5, backoffMaxMs: 40, orphanGraceMs: 0, resyncMs: 40, startAttempts: 3, gce: { callTimeoutMs: 5000, maxWaitRounds: 20 } };

type Rig = StandinRig<GceStandin>;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ftst-gce-'));
  // Never look for a gcloud ADC file or a key file of the machine: the metadata server is the credential.
  delete process.env['GOOGLE_APPLICATION_CREDENTIALS'];
  process.env['CLOUDSDK_CONFIG'] = dir;
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function rig(options: Record<string, string> = {}): Promise<Rig> {
  const r = await startStandinRig(dir, (now) => new GceStandin({ project: PROJECT, networks: 'default,other', pageSize: '2', opStepMs: '5', waitMs: '200', ...options }, now));
  process.env['GCE_METADATA_HOST'] = `127.0.0.1:${r.port}`;
  return r;
}

const lease = (subnet: string): Lease => cloudLease(subnet, '10.128.0.9');

function context(lines: string[], backend: Record<string, unknown>): BackendContext {
  return cloudBackendContext({ type: 'gce', backend, selfIp: SELF_IP, mtu: 1460, ownSubnet: OWN, resyncMs: FAST.resyncMs, lines });
}

function routeTo(s: GceStandinState, dest: string): GceStandinRoute | undefined {
  return s.routes.find((x) => x.destRange === dest && x.network === NET);
}

async function until(r: Rig, cond: (s: GceStandinState) => boolean, what: string, timeoutMs = 8000): Promise<GceStandinState> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = r.standin.state();
    if (cond(s)) return s;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}; routes ${JSON.stringify(s.routes.map((x) => `${x.name}:${x.destRange}`))} answered ${JSON.stringify(s.answered)}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

async function start(r: Rig, lines: string[], backend: Record<string, unknown> = {}): Promise<RunningNetwork> {
  return runNetwork(await new GceBackend(FAST).registerNetwork(context(lines, { ComputeEndpoint: r.url, ...backend }), AbortSignal.timeout(40_000)));
}

describe('gce through the SDK against the stand-in', () => {
  it('puts the own route as flannel named it, removes a removed lease\'s route, touches nothing else, and calls only the listed methods', async () => {
    const r = await rig();
    const lines: string[] = [];
    try {
      // Routes that are not flannel's to touch: a system route, a route outside the cluster
      // network, a flannel-named route in another network, a user route inside the cluster range.
      await r.control('POST', '/routes/add', { name: 'default-route-abc', destRange: '0.0.0.0/0', nextHopGateway: `${LINK}global/gateways/default-internet-gateway` });
      await r.control('POST', '/routes/add', { name: 'flannel-192-168-5-0-24', destRange: '192.168.5.0/24', nextHopIp: '10.128.0.50' });
      await r.control('POST', '/routes/add', { name: 'flannel-10-244-7-0-24', destRange: '10.244.7.0/24', network: 'other', nextHopIp: '10.128.0.51' });
      await r.control('POST', '/routes/add', { name: 'user-route', destRange: '10.244.9.0/24', nextHopIp: '10.128.0.52' });
      const { net, q, ac, running } = await start(r, lines);
      let s = r.standin.state();
      const own = s.routes.find((x) => x.name === 'flannel-10-244-1-0-24');
      assert.deepEqual(
        { destRange: own?.destRange, network: own?.network, nextHopInstance: own?.nextHopInstance, priority: own?.priority },
        { destRange: OWN, network: NET, nextHopInstance: SELF, priority: 1000 },
      );
      assert.equal(net.lease.subnet?.toString(), OWN);
      // Another host's route; its lease comes, then goes.
      await r.control('POST', '/routes/add', { name: 'flannel-10-244-2-0-24', destRange: '10.244.2.0/24', nextHopInstance: `${LINK}zones/us-central1-b/instances/host-2` });
      q.push([{ type: 'added', lease: lease('10.244.2.0/24') }]);
      await new Promise((res) => setTimeout(res, 150));
      assert.ok(routeTo(r.standin.state(), '10.244.2.0/24'), 'a leased host\'s route stays');
      q.push([{ type: 'removed', lease: lease('10.244.2.0/24') }]);
      s = await until(r, (x) => !routeTo(x, '10.244.2.0/24'), 'the removed lease\'s route to go');
      const names = s.routes.map((x) => x.name).sort();
      assert.deepEqual(names, ['default-route-abc', 'flannel-10-244-1-0-24', 'flannel-10-244-7-0-24', 'flannel-192-168-5-0-24', 'user-route']);
      ac.abort();
      await running;
      // Exactly the documented API surface was used (the README's permission list).
      for (const m of Object.keys(s.calls)) assert.ok(m in GCE_API_METHODS, `called ${m}, which GCE_API_METHODS does not list`);
      assert.ok((s.calls['compute.routes.list'] ?? 0) >= 2 && (s.calls['compute.globalOperations.wait'] ?? 0) >= 1, JSON.stringify(s.calls));
      assert.ok(!lines.join('').includes('ya29.'), 'no access token in the log');
    } finally {
      await r.close();
    }
  });

  it('replaces an own-named route that points elsewhere, puts back a route deleted by hand, and waits out throttling and 5xx', async () => {
    const r = await rig();
    const lines: string[] = [];
    try {
      // A stale route of this subnet from an earlier instance (flannel's handleMatchingRoute case).
      await r.control('POST', '/routes/add', { name: 'flannel-10-244-1-0-24', destRange: OWN, nextHopInstance: `${LINK}zones/us-central1-a/instances/old-host` });
      const { ac, running } = await start(r, lines);
      assert.equal(routeTo(r.standin.state(), OWN)?.nextHopInstance, SELF);
      assert.ok(lines.some((l) => l.includes('replacing route flannel-10-244-1-0-24')), lines.join(''));
      // Deleted by hand: the periodic reconcile puts it back, through throttling and then 5xx.
      await r.control('POST', '/fault', { kind: 'throttle', count: 3 });
      await r.control('POST', '/routes/delete', { name: 'flannel-10-244-1-0-24' });
      let s = await until(r, (x) => routeTo(x, OWN)?.nextHopInstance === SELF, 'the hand-deleted route to come back');
      assert.ok((s.answered['429'] ?? 0) >= 3, JSON.stringify(s.answered));
      await r.control('POST', '/fault', { kind: 'http5xx', count: 3 });
      await r.control('POST', '/routes/delete', { name: 'flannel-10-244-1-0-24' });
      s = await until(r, (x) => routeTo(x, OWN)?.nextHopInstance === SELF, 'the route to come back after 5xx');
      assert.ok((s.answered['503'] ?? 0) >= 3, JSON.stringify(s.answered));
      ac.abort();
      await running;
    } finally {
      await r.close();
    }
  });

  it('a revoked token (401) is replaced by a fresh one from the metadata server and the loop goes on', async () => {
    const r = await rig();
    const lines: string[] = [];
    try {
      const { ac, running } = await start(r, lines);
      await r.control('POST', '/credentials/revoke', {});
      await r.control('POST', '/routes/delete', { name: 'flannel-10-244-1-0-24' });
      const s = await until(r, (x) => routeTo(x, OWN)?.nextHopInstance === SELF, 'the route back with a fresh token').catch((e: unknown) => assert.fail(`${String(e)}\n${lines.join('')}`));
      assert.ok((s.answered['401'] ?? 0) >= 1, `the revoked token was refused: ${JSON.stringify(s.answered)}`);
      ac.abort();
      await running;
    } finally {
      await r.close();
    }
  });

  it('survives a 10 s API outage: keeps running, routes stay, catches up when the API is back', async () => {
    const r = await rig();
    const lines: string[] = [];
    try {
      const { q, ac, running } = await start(r, lines);
      await r.control('POST', '/fault', { kind: 'outage', ms: 10_000 });
      q.push([{ type: 'added', lease: lease('10.244.3.0/24') }]);
      await r.control('POST', '/routes/add', { name: 'flannel-10-244-4-0-24', destRange: '10.244.4.0/24', nextHopIp: '10.128.0.60' });
      // The loop sees the API down (connections reset) and keeps trying.
      const end = Date.now() + 8000;
      while (!lines.some((l) => l.includes('route reconcile failed')) && Date.now() < end) await new Promise((res) => setTimeout(res, 10));
      assert.ok(lines.some((l) => l.includes('route reconcile failed')), 'the outage was noticed');
      assert.ok(routeTo(r.standin.state(), OWN), 'the own route stays during the outage');
      // 10 s pass on the stand-in's clock: the API answers again and the loop catches up (the orphan goes).
      r.clock.offset += 10_000;
      await until(r, (x) => !routeTo(x, '10.244.4.0/24'), 'the loop to catch up after the outage', 15_000);
      await until(r, () => lines.some((l) => l.includes('reachable again')), 'the recovery to be logged');
      ac.abort();
      await running;
    } finally {
      await r.close();
    }
  });

  it('wrong credentials, a missing permission, a missing network, a route name taken in another network and a full ROUTES quota fail the start with clear errors', async () => {
    const cases: { what: string; opts?: Record<string, string>; backend?: Record<string, unknown>; seed?: Record<string, unknown>; check: (e: unknown) => boolean }[] = [
      {
        what: 'an instance without the compute scope',
        opts: { scopes: 'https://www.googleapis.com/auth/devstorage.read_only' },
        check: (e) => e instanceof CloudApiError && !e.retryable && e.apiCode === 'PERMISSION_DENIED' && /insufficient authentication scopes.*compute OAuth scope/.test(e.message),
      },
      {
        what: 'an instance without a service account',
        opts: { scopes: 'none' },
        check: (e) => e instanceof CloudApiError && !e.retryable && /credentials/.test(e.message),
      },
      {
        what: 'no compute.routes.create permission',
        opts: { deny: 'compute.routes.create' },
        check: (e) => e instanceof CloudApiError && !e.retryable && /Required 'compute\.routes\.create' permission/.test(e.message),
      },
      {
        what: 'a missing network',
        backend: { Network: 'no-such-net' },
        check: (e) => e instanceof CloudApiError && !e.retryable && e.apiCode === 'NOT_FOUND' && /compute\.networks\.get projects\/flannel-test\/global\/networks\/no-such-net/.test(e.message),
      },
      {
        what: 'its route name taken in another network of the project',
        seed: { name: 'flannel-10-244-1-0-24', destRange: OWN, network: 'other', nextHopIp: '10.128.0.70' },
        check: (e) => e instanceof CloudApiError && !e.retryable && /route name is taken by a route in .*networks\/other/.test(e.message),
      },
      {
        what: 'a full ROUTES quota',
        opts: { quota: '0' },
        check: (e) => e instanceof RouteTableFullError && e.table === 'network default' && e.limit === 0 && /Quota 'ROUTES' exceeded/.test(e.message),
      },
    ];
    for (const c of cases) {
      const r = await rig(c.opts);
      const lines: string[] = [];
      try {
        if (c.seed) await r.control('POST', '/routes/add', c.seed);
        await assert.rejects(start(r, lines, c.backend), (e: unknown) => {
          assert.ok(c.check(e), `${c.what}: ${String(e)}`);
          return true;
        });
        assert.ok(!lines.join('').includes('ya29.'), 'no access token in the log');
      } finally {
        await r.close();
      }
    }
  });

  it('a bad option fails before the lease is taken, naming the field', async () => {
    let leased = false;
    const ctx = { ...context([], { Project: 'Bad_Project' }), acquireLease: () => ((leased = true), Promise.resolve(lease(OWN))) };
    await assert.rejects(new GceBackend(FAST).registerNetwork(ctx, AbortSignal.timeout(5000)), (e: unknown) => e instanceof ConfigError && e.field === 'Backend.Project');
    assert.equal(leased, false);
  });

});
