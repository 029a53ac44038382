/**
 * The Compute SDK (google-gax, protobufjs, the 11 MB compute protos) is loaded only when the gce
 * backend connects: the daemon's modules, a vxlan backend and even a gce backend object load none
 * of it. node --test runs this file in its own process, so the module cache starts empty of it.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { it } from 'node:test';

const require = createRequire(import.meta.url);
const sdkModules = () => Object.keys(require.cache).filter((k) => /node_modules[\\/](@google-cloud[\\/]compute|google-gax|google-auth-library|gcp-metadata)[\\/]/.test(k));

it('a vxlan start loads no Google Cloud SDK module; loading the gce provider\'s clients does (the check can fail)', async () => {
  await import('../../../../src/daemon/main.js');
  const { createBackend } = await import('../../../../src/backend/registry.js');
  assert.equal((await createBackend('vxlan')).type, 'vxlan');
  assert.equal((await createBackend('gce')).type, 'gce');
  await import('../../../../src/backend/gce/gce-api-methods.js');
  assert.deepEqual(sdkModules(), []);
  await import('@google-cloud/compute/build/src/v1/routes_client.js');
  assert.ok(sdkModules().some((k) => k.includes('routes_client')), 'the SDK shows in the module cache once loaded');
});
