import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AWS_VPC_API_ACTIONS } from '../../../../src/backend/awsvpc/aws-api-actions.js';
import { toAwsError } from '../../../../src/backend/awsvpc/aws-errors.js';
import { parseAwsVpcConfig } from '../../../../src/backend/awsvpc/awsvpc-config.js';
import { CloudApiError, RouteTableFullError } from '../../../../src/backend/cloud/cloud-errors.js';
import { ConfigError } from '../../../../src/errors.js';

describe('parseAwsVpcConfig', () => {
  it('reads RouteTableID as one ID or a list; absent means discover', () => {
    assert.equal(parseAwsVpcConfig({}).routeTableIds, undefined);
    assert.equal(parseAwsVpcConfig({ RouteTableID: null }).routeTableIds, undefined);
    assert.deepEqual(parseAwsVpcConfig({ RouteTableID: 'rtb-0123456789abcdef0' }).routeTableIds, ['rtb-0123456789abcdef0']);
    assert.deepEqual(parseAwsVpcConfig({ RouteTableID: ['rtb-1a2b3c4d', 'rtb-5e6f7a8b'] }).routeTableIds, ['rtb-1a2b3c4d', 'rtb-5e6f7a8b']);
  });

  const bad: [unknown, string, RegExp][] = [
    [42, 'Backend.RouteTableID', /string.*or a list/],
    [true, 'Backend.RouteTableID', /string/],
    [{ id: 'rtb-1' }, 'Backend.RouteTableID', /string/],
    ['', 'Backend.RouteTableID', /not a VPC route table ID/],
    ['rtb-XYZ', 'Backend.RouteTableID', /not a VPC route table ID/],
    ['subnet-1234', 'Backend.RouteTableID', /not a VPC route table ID/],
    [[], 'Backend.RouteTableID', /empty list/],
    [['rtb-1a2b3c4d', 7], 'Backend.RouteTableID[1]', /string/],
    [['rtb-1a2b3c4d', 'igw-1'], 'Backend.RouteTableID[1]', /not a VPC route table ID/],
    [['rtb-1a2b3c4d', 'rtb-1a2b3c4d'], 'Backend.RouteTableID', /twice/],
  ];
  for (const [value, field, reason] of bad) {
    it(`rejects RouteTableID=${JSON.stringify(value)} naming ${field}`, () => {
      assert.throws(
        () => parseAwsVpcConfig({ RouteTableID: value }),
        (err: unknown) => err instanceof ConfigError && err.field === field && reason.test(err.message) && err.message.includes(field),
      );
    });
  }
});

describe('toAwsError', () => {
  const sdkError = (name: string, status: number) => Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });
  it('throttling, 5xx and socket errors are retryable; auth, missing table and bad input are not', () => {
    const retry = (e: unknown) => (toAwsError('Op', e) as CloudApiError).retryable;
    assert.equal(retry(sdkError('RequestLimitExceeded', 503)), true);
    assert.equal(retry(sdkError('Throttling', 400)), true);
    assert.equal(retry(sdkError('InternalError', 500)), true);
    assert.equal(retry(sdkError('SomethingNew', 502)), true);
    assert.equal(retry(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), true);
    assert.equal(retry(Object.assign(new Error('timed out'), { name: 'TimeoutError' })), true);
    assert.equal(retry(sdkError('AuthFailure', 401)), false);
    assert.equal(retry(sdkError('UnauthorizedOperation', 403)), false);
    assert.equal(retry(sdkError('InvalidRouteTableID.NotFound', 400)), false);
    assert.equal(retry(sdkError('InvalidParameterValue', 400)), false);
  });
  it('RouteLimitExceeded is RouteTableFullError naming the table and the quota', () => {
    const err = toAwsError('CreateRoute', sdkError('RouteLimitExceeded', 400), 'rtb-0abc');
    assert.ok(err instanceof RouteTableFullError);
    assert.equal(err.table, 'rtb-0abc');
    assert.match(err.message, /rtb-0abc.*Routes per route table/);
  });
});

describe('README aws-vpc IAM policy', () => {
  it('lists exactly AWS_VPC_API_ACTIONS', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../../../../README.md', import.meta.url)), 'utf8');
    const start = readme.indexOf('#### aws-vpc');
    assert.ok(start >= 0, 'README has an "#### aws-vpc" section');
    const next = readme.slice(start + 1).search(/\n#{2,4} /);
    const section = next === -1 ? readme.slice(start) : readme.slice(start, start + 1 + next);
    const m = /```json\n([\s\S]*?)```/.exec(section);
    assert.ok(m, 'the aws-vpc section has a ```json IAM policy');
    const policy = JSON.parse(m[1]!) as { Statement: { Effect: string; Action: string | string[] }[] };
    const actions = policy.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    assert.deepEqual([...actions].sort(), [...AWS_VPC_API_ACTIONS].sort());
  });
});
