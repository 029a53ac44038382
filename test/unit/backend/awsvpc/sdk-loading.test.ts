/**
 * The AWS SDK (~120 MB of RSS, seconds to load) is loaded only when aws-vpc connects: the daemon's
 * modules and a vxlan (or even an aws-vpc) backend object load none of it. node --test runs this
 * file in its own process, so the module cache starts empty of it.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { it } from 'node:test';

const require = createRequire(import.meta.url);
const sdkModules = () => Object.keys(require.cache).filter((k) => /node_modules[\\/](@aws-sdk|@smithy)[\\/]/.test(k));

it('a vxlan start loads no @aws-sdk or @smithy module; importing the SDK does (the check can fail)', async () => {
  await import('../../../../src/daemon/main.js');
  const { createBackend } = await import('../../../../src/backend/registry.js');
  assert.equal((await createBackend('vxlan')).type, 'vxlan');
  assert.equal((await createBackend('aws-vpc')).type, 'aws-vpc');
  assert.deepEqual(sdkModules(), []);
  await import('@aws-sdk/client-ec2');
  assert.ok(sdkModules().some((k) => k.includes('client-ec2')), 'the SDK shows in the module cache once loaded');
});
