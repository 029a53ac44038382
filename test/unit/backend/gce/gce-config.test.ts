import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { CloudApiError } from '../../../../src/backend/cloud/cloud-errors.js';
import { GCE_API_METHODS, GCE_OAUTH_SCOPE, gceIamPermissions } from '../../../../src/backend/gce/gce-api-methods.js';
import { parseGceConfig } from '../../../../src/backend/gce/gce-config.js';
import { translateGceError } from '../../../../src/backend/gce/gce-errors.js';
import { gceRouteName } from '../../../../src/backend/gce/gce-provider.js';
import { ConfigError } from '../../../../src/errors.js';
import { IPNetwork } from '../../../../src/ip/ip-network.js';

describe('gce options', () => {
  it('defaults to discovery: no project, network or endpoint', () => {
    assert.deepEqual(parseGceConfig({ Type: 'gce' }), { project: undefined, network: undefined, computeEndpoint: undefined });
    assert.deepEqual(parseGceConfig({ Project: '', Network: '' }), { project: undefined, network: undefined, computeEndpoint: undefined });
  });

  it('takes a project ID, a network name and an endpoint URL', () => {
    const c = parseGceConfig({ Project: 'my-proj-123', Network: 'vpc-1', ComputeEndpoint: 'http://127.0.0.1:8080' });
    assert.equal(c.project, 'my-proj-123');
    assert.equal(c.network, 'vpc-1');
    assert.deepEqual(c.computeEndpoint, { protocol: 'http', host: '127.0.0.1', port: 8080, url: 'http://127.0.0.1:8080' });
    assert.equal(parseGceConfig({ Project: 'example.com:legacy-proj' }).project, 'example.com:legacy-proj');
    assert.deepEqual(parseGceConfig({ ComputeEndpoint: 'https://compute.example.net/' }).computeEndpoint, {
      protocol: 'https',
      host: 'compute.example.net',
      port: 443,
      url: 'https://compute.example.net',
    });
    assert.equal(parseGceConfig({ ComputeEndpoint: 'http://[::1]:81' }).computeEndpoint?.host, '[::1]');
  });

  const bad: [Record<string, unknown>, string][] = [
    [{ Project: 7 }, 'Backend.Project'],
    [{ Project: 'Upper-Case' }, 'Backend.Project'],
    [{ Project: 'abc' }, 'Backend.Project'],
    [{ Project: 'ends-with-' }, 'Backend.Project'],
    [{ Project: 'has space in it' }, 'Backend.Project'],
    [{ Network: true }, 'Backend.Network'],
    [{ Network: 'projects/p/global/networks/default' }, 'Backend.Network'],
    [{ Network: '1starts-with-digit' }, 'Backend.Network'],
    [{ Network: 'x'.repeat(64) }, 'Backend.Network'],
    [{ ComputeEndpoint: 42 }, 'Backend.ComputeEndpoint'],
    [{ ComputeEndpoint: 'not a url' }, 'Backend.ComputeEndpoint'],
    [{ ComputeEndpoint: 'ftp://host' }, 'Backend.ComputeEndpoint'],
    [{ ComputeEndpoint: 'https://host/compute/v1' }, 'Backend.ComputeEndpoint'],
    [{ ComputeEndpoint: 'https://user:pw@host' }, 'Backend.ComputeEndpoint'],
    [{ ComputeEndpoint: 'https://host?x=1' }, 'Backend.ComputeEndpoint'],
  ];
  for (const [raw, field] of bad) {
    it(`rejects ${JSON.stringify(raw)} naming ${field} and the value`, () => {
      assert.throws(
        () => parseGceConfig(raw),
        (e: unknown) => e instanceof ConfigError && e.field === field && e.value === Object.values(raw)[0] && e.message.includes(field),
      );
    });
  }
});

describe('gce route names', () => {
  it('are flannel\'s: flannel- and the subnet with dashes', () => {
    assert.equal(gceRouteName(IPNetwork.parse('10.244.3.0/24')), 'flannel-10-244-3-0-24');
    assert.equal(gceRouteName('192.168.0.0/16'), 'flannel-192-168-0-0-16');
    assert.match(gceRouteName('fd00:10:244::/64'), /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/);
  });
});

describe('gce error translation', () => {
  const op = 'compute.routes.insert projects/p/global/routes/r';
  const cases: [string, unknown, boolean, string | undefined][] = [
    ['429 throttling', Object.assign(new Error('Quota exceeded for quota metric'), { code: 8, reason: 'RATE_LIMIT_EXCEEDED' }), true, 'RESOURCE_EXHAUSTED'],
    ['legacy 403 rate limit', Object.assign(new Error('Rate Limit Exceeded'), { code: 7 }), true, 'PERMISSION_DENIED'],
    ['503', Object.assign(new Error('The service is currently unavailable.'), { code: 14 }), true, 'UNAVAILABLE'],
    ['409 concurrent change', Object.assign(new Error('already exists'), { code: 10 }), true, 'ABORTED'],
    ['403 forbidden', Object.assign(new Error("Required 'compute.routes.create' permission"), { code: 7 }), false, 'PERMISSION_DENIED'],
    ['401', Object.assign(new Error('Request had invalid authentication credentials.'), { code: 16 }), false, 'UNAUTHENTICATED'],
    ['404', Object.assign(new Error('was not found'), { code: 5 }), false, 'NOT_FOUND'],
    ['token endpoint 404', Object.assign(new Error('Could not refresh access token'), { response: { status: 404 } }), false, 'NOT_FOUND'],
    ['metadata 503', Object.assign(new Error('metadata down'), { response: { status: 503 } }), true, 'HTTP_503'],
    ['connection refused', Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }), true, undefined],
    ['no credentials', new Error('Could not load the default credentials.'), false, undefined],
  ];
  for (const [what, err, retryable, apiCode] of cases) {
    it(`${what}: ${retryable ? 'retryable' : 'not retryable'}`, () => {
      const e = translateGceError(err, op);
      assert.ok(e instanceof CloudApiError);
      assert.equal(e.retryable, retryable);
      assert.equal(e.apiCode, apiCode);
      assert.ok(e.message.startsWith(`gce ${op}: `), e.message);
      assert.equal(e.cause, err);
    });
  }
  it('takes the API\'s message out of a JSON error body', () => {
    const body = JSON.stringify({ error: { code: 403, message: 'Request had insufficient authentication scopes.', status: 'PERMISSION_DENIED' } });
    assert.match(translateGceError(Object.assign(new Error(body), { code: 7 }), op).message, /PERMISSION_DENIED: Request had insufficient authentication scopes\. \(the instance needs/);
    // The same answer as an HTTP error of the auth library's own retry.
    assert.match(translateGceError(Object.assign(new Error(body), { response: { status: 403 } }), op).message, /PERMISSION_DENIED: Request had insufficient authentication scopes\. \(the instance needs/);
  });

  it('says what to fix for a denied call', () => {
    assert.match(translateGceError(Object.assign(new Error('Request had insufficient authentication scopes.'), { code: 7 }), op).message, /compute OAuth scope/);
  });
});

describe('README gce scope and permissions', () => {
  const readme = readFileSync(fileURLToPath(new URL('../../../../../README.md', import.meta.url)), 'utf8');
  const start = readme.indexOf('#### gce');
  const next = readme.slice(start + 1).search(/\n#{2,4} /);
  const section = next === -1 ? readme.slice(start) : readme.slice(start, start + 1 + next);

  it('has a gce section naming the OAuth scope', () => {
    assert.ok(start >= 0, 'README has an "#### gce" section');
    assert.ok(section.includes(GCE_OAUTH_SCOPE));
  });

  it('lists exactly GCE_API_METHODS with their permissions, and the custom role exactly those permissions', () => {
    const rows = [...section.matchAll(/^\| `(compute\.[a-zA-Z.]+)` \| (.+) \|$/gm)].map((m) => [m[1]!, [...m[2]!.matchAll(/`([^`]+)`/g)].map((x) => x[1]!)] as const);
    assert.deepEqual(Object.fromEntries(rows), Object.fromEntries(Object.entries(GCE_API_METHODS).map(([k, v]) => [k, [...v]])));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section);
    assert.ok(yaml, 'the gce section has a ```yaml custom role');
    const perms = [...yaml[1]!.matchAll(/^- (\S+)$/gm)].map((m) => m[1]!);
    assert.deepEqual(perms, gceIamPermissions());
  });
});
