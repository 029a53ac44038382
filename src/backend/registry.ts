import { ConfigError } from '../errors.js';
import type { Backend, BackendFactory } from './backend.js';

/**
 * The backends this build has, by `Backend.Type`. Explicit: no registration by import side
 * effect. Each is imported when chosen, so that a vxlan host loads neither the other backends
 * nor what they need (e.g. node:crypto for WireGuard keys).
 */
export const BACKENDS: ReadonlyMap<string, BackendFactory> = new Map<string, BackendFactory>([
  ['vxlan', async () => new (await import('./vxlan/vxlan-backend.js')).VxlanBackend()],
  ['host-gw', async () => new (await import('./hostgw/hostgw-backend.js')).HostGwBackend()],
  ['alloc', async () => new (await import('./alloc/alloc-backend.js')).AllocBackend()],
  ['extension', async () => new (await import('./extension/extension-backend.js')).ExtensionBackend()],
  ['ipip', async () => new (await import('./ipip/ipip-backend.js')).IpipBackend()],
  ['udp', async () => new (await import('./udp/udp-backend.js')).UdpBackend()],
  ['wireguard', async () => new (await import('./wireguard/wireguard-backend.js')).WireguardBackend()],
  ['ipsec', async () => new (await import('./ipsec/ipsec-backend.js')).IpsecBackend()],
  ['gce', async () => new (await import('./gce/gce-backend.js')).GceBackend()],
  ['tencent-vpc', async () => new (await import('./tencentvpc/tencent-vpc-backend.js')).TencentVpcBackend()],
  ['aws-vpc', async () => new (await import('./awsvpc/awsvpc-backend.js')).AwsVpcBackend()],
]);

export function knownBackendTypes(): string[] {
  return [...BACKENDS.keys()];
}

export function createBackend(type: string): Promise<Backend> {
  const factory = BACKENDS.get(type);
  if (!factory) throw new ConfigError('Backend.Type', type, `unknown backend type (supported: ${knownBackendTypes().join(', ')})`);
  return factory();
}
