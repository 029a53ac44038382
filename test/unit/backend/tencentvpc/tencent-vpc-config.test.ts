import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BackendContext } from '../../../../src/backend/backend.js';
import { TencentApiError, isRetryableAnswer } from '../../../../src/backend/tencentvpc/tencent-api-error.js';
import { TENCENT_VPC_API_ACTIONS } from '../../../../src/backend/tencentvpc/tencent-vpc-actions.js';
import { TencentVpcBackend } from '../../../../src/backend/tencentvpc/tencent-vpc-backend.js';
import { parseApiEndpoint, parseTencentVpcConfig } from '../../../../src/backend/tencentvpc/tencent-vpc-config.js';
import { validateNetworkConfig } from '../../../../src/config/network-config.js';
import { ConfigError } from '../../../../src/errors.js';
import { IPAddress } from '../../../../src/ip/ip-address.js';
import { nullLogger } from '../../../../src/log/logger.js';

const REPO = fileURLToPath(new URL('../../../../../', import.meta.url));
const SECRET = 'the-secret-value-never-shown-0001';

function configError(fn: () => unknown, field: string): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.field, field);
  return caught;
}

describe('tencent-vpc config', () => {
  it('takes the options when both are set, else flannel\'s ACCESS_KEY_ID/ACCESS_KEY_SECRET, else TENCENTCLOUD_SECRET_ID/KEY', () => {
    const env = { ACCESS_KEY_ID: 'AKIDenv', ACCESS_KEY_SECRET: 'envsecret', TENCENTCLOUD_SECRET_ID: 'AKIDsdk', TENCENTCLOUD_SECRET_KEY: 'sdksecret' };
    const opt = parseTencentVpcConfig({ AccessKeyID: 'AKIDopt', AccessKeySecret: SECRET }, env);
    assert.deepEqual([opt.accessKeyId, opt.accessKeySecret, opt.credentialSource], ['AKIDopt', SECRET, 'Backend.AccessKeyID/AccessKeySecret']);
    // flannel: one option missing -> the environment pair.
    const half = parseTencentVpcConfig({ AccessKeyID: 'AKIDopt' }, env);
    assert.deepEqual([half.accessKeyId, half.credentialSource], ['AKIDenv', 'ACCESS_KEY_ID/ACCESS_KEY_SECRET']);
    const sdk = parseTencentVpcConfig({}, { TENCENTCLOUD_SECRET_ID: 'AKIDsdk', TENCENTCLOUD_SECRET_KEY: 'sdksecret', ACCESS_KEY_ID: 'AKIDlonely' });
    assert.deepEqual([sdk.accessKeyId, sdk.credentialSource], ['AKIDsdk', 'TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY']);
    assert.equal(opt.metadataUrl, 'http://metadata.tencentyun.com');
    assert.deepEqual(opt.api, { protocol: 'https://', endpoint: 'vpc.tencentcloudapi.com', connectAddress: undefined });
  });

  it('missing credentials name the options and every environment variable', () => {
    const err = configError(() => parseTencentVpcConfig({}, {}), 'Backend.AccessKeyID');
    for (const name of ['Backend.AccessKeySecret', 'ACCESS_KEY_ID', 'ACCESS_KEY_SECRET', 'TENCENTCLOUD_SECRET_ID', 'TENCENTCLOUD_SECRET_KEY']) assert.ok(err.message.includes(name), name);
    const half = configError(() => parseTencentVpcConfig({ AccessKeySecret: SECRET }, { ACCESS_KEY_ID: 'AKIDonly' }), 'Backend.AccessKeyID');
    assert.match(half.message, /Backend.AccessKeySecret is set, Backend.AccessKeyID is not/);
    assert.ok(!half.message.includes(SECRET));
  });

  it('a malformed option names the field; a malformed secret is never echoed', () => {
    configError(() => parseTencentVpcConfig({ AccessKeyID: 42, AccessKeySecret: SECRET }, {}), 'Backend.AccessKeyID');
    const typed = configError(() => parseTencentVpcConfig({ AccessKeyID: 'AKID', AccessKeySecret: ['x'] }, {}), 'Backend.AccessKeySecret');
    assert.match(typed.message, /<object>/);
    const spaced = configError(() => parseTencentVpcConfig({ AccessKeyID: 'AKID', AccessKeySecret: ` ${SECRET}` }, {}), 'Backend.AccessKeySecret');
    assert.ok(!spaced.message.includes(SECRET));
    assert.match(spaced.message, /<redacted>/);
  });

  it('API endpoint override: a vpc.* host, or an IP address reached while the request names vpc.tencentcloudapi.com', () => {
    assert.deepEqual(parseApiEndpoint('http://127.0.0.1:8080'), { protocol: 'http://', endpoint: 'vpc.tencentcloudapi.com:8080', connectAddress: '127.0.0.1' });
    assert.deepEqual(parseApiEndpoint('vpc.internal.tencentcloudapi.com'), { protocol: 'https://', endpoint: 'vpc.internal.tencentcloudapi.com', connectAddress: undefined });
    assert.deepEqual(parseApiEndpoint('https://vpc.ap-guangzhou.example:8443/'), { protocol: 'https://', endpoint: 'vpc.ap-guangzhou.example:8443', connectAddress: undefined });
    assert.deepEqual(parseApiEndpoint('http://[fd77::5]:80')?.connectAddress, 'fd77::5');
    for (const bad of ['https://cvm.tencentcloudapi.com', 'ftp://vpc.example', 'http://vpc.example/path', 'http://user:pw@vpc.example', 'http://']) {
      configError(() => parseApiEndpoint(bad), 'TENCENTCLOUD_VPC_ENDPOINT');
    }
  });

  it('metadata endpoint override', () => {
    const env = { ACCESS_KEY_ID: 'a', ACCESS_KEY_SECRET: 'b' };
    assert.equal(parseTencentVpcConfig({}, { ...env, TENCENTCLOUD_METADATA_ENDPOINT: 'http://10.0.0.1:9000/' }).metadataUrl, 'http://10.0.0.1:9000');
    for (const bad of ['not a url', 'file:///etc/passwd', 'http://h/?q=1']) configError(() => parseTencentVpcConfig({}, { ...env, TENCENTCLOUD_METADATA_ENDPOINT: bad }), 'TENCENTCLOUD_METADATA_ENDPOINT');
  });

  it('the backend refuses to start without credentials before taking a lease', async () => {
    let leased = false;
    const ctx: BackendContext = {
      config: validateNetworkConfig({ Network: '10.244.0.0/16', Backend: { Type: 'tencent-vpc' } }, { knownBackends: ['tencent-vpc'] }),
      extIface: { name: 'eth0', mtu: 1500, ifaceAddr: IPAddress.parse('10.0.0.5'), ifaceV6Addr: undefined, extAddr: IPAddress.parse('10.0.0.5'), extV6Addr: undefined },
      logger: nullLogger(),
      acquireLease: () => {
        leased = true;
        return Promise.reject(new Error('no lease here'));
      },
      kernel: () => {
        throw new Error('no kernel');
      },
      resyncMs: 1000,
    };
    await assert.rejects(new TencentVpcBackend({}).registerNetwork(ctx, AbortSignal.timeout(2000)), (err: unknown) => err instanceof ConfigError && err.field === 'Backend.AccessKeyID');
    assert.equal(leased, false);
  });
});

describe('tencent-vpc API errors', () => {
  it('retries throttling, internal errors, 5xx and no answer; not auth, not-found, quota or bad parameters', () => {
    for (const code of ['RequestLimitExceeded', 'RequestLimitExceeded.UinLimitExceeded', 'InternalError', 'InternalError.ServerError', 'ResourceUnavailable', 'FailedOperation.InternalOperationFailure']) {
      assert.equal(isRetryableAnswer(code, undefined), true, code);
    }
    for (const code of ['AuthFailure.SignatureFailure', 'AuthFailure.SecretIdNotFound', 'ResourceNotFound', 'LimitExceeded', 'InvalidParameterValue.Malformed', 'UnauthorizedOperation']) {
      assert.equal(isRetryableAnswer(code, undefined), false, code);
    }
    assert.equal(isRetryableAnswer('', 503), true);
    assert.equal(isRetryableAnswer('', 429), true);
    assert.equal(isRetryableAnswer('', 403), false);
    assert.equal(isRetryableAnswer('', undefined), true);
    const e = new TencentApiError('CreateRoutes', { apiCode: 'LimitExceeded', message: 'quota', requestId: 'r-1' });
    assert.equal(e.message, 'tencent-vpc CreateRoutes: LimitExceeded: quota (RequestId r-1)');
    assert.equal(e.retryable, false);
  });
});

describe('tencent-vpc packaging', () => {
  it('the README\'s CAM policy lists exactly the API actions the code calls', () => {
    const readme = readFileSync(`${REPO}README.md`, 'utf8');
    const start = readme.indexOf('#### tencent-vpc');
    assert.ok(start >= 0, 'README has a "#### tencent-vpc" section');
    const next = readme.indexOf('\n#### ', start + 1);
    const section = readme.slice(start, next < 0 ? undefined : next);
    const policy = /```json\n([\s\S]*?)```/.exec(section);
    assert.ok(policy?.[1], 'the section has a JSON CAM policy');
    const doc = JSON.parse(policy[1]) as { statement: { action: string[] }[] };
    const actions = doc.statement.flatMap((s) => s.action).sort();
    assert.deepEqual(actions, TENCENT_VPC_API_ACTIONS.map((a) => `vpc:${a}`).sort());
  });

  it('the SDK is loaded only when tencent-vpc is chosen', () => {
    const script = `
      const { createRequire } = await import('node:module');
      const require = createRequire(import.meta.url);
      const reg = await import(${JSON.stringify(`${REPO}dist/src/backend/registry.js`)});
      const loaded = () => Object.keys(require.cache).some((k) => k.includes('tencentcloud-sdk'));
      await reg.createBackend('vxlan');
      const afterVxlan = loaded();
      await reg.createBackend('tencent-vpc');
      const afterTencent = loaded();
      const client = await import(${JSON.stringify(`${REPO}dist/src/backend/tencentvpc/tencent-vpc-client.js`)});
      await client.createTencentVpcClient({ accessKeyId: 'a', accessKeySecret: 'b', region: 'r', api: { protocol: 'http://', endpoint: 'vpc.x', connectAddress: '127.0.0.1' } });
      console.log(JSON.stringify([afterVxlan, afterTencent, loaded()]));`;
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(res.status, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout.trim()), [false, false, true], 'vxlan: no SDK; the backend module: no SDK yet; its first client: SDK');
  });
});
