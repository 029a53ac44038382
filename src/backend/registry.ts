import { ConfigError } from '../errors.js';
import { AllocBackend } from './alloc/alloc-backend.js';
import type { Backend, BackendFactory } from './backend.js';
import { HostGwBackend } from './hostgw/hostgw-backend.js';
import { VxlanBackend } from './vxlan/vxlan-backend.js';

/** The backends this build has, by `Backend.Type`. Explicit: no registration by import side effect. */
export const BACKENDS: ReadonlyMap<string, BackendFactory> = new Map<string, BackendFactory>([
  ['vxlan', () => new VxlanBackend()],
  ['host-gw', () => new HostGwBackend()],
  ['alloc', () => new AllocBackend()],
]);

export function knownBackendTypes(): string[] {
  return [...BACKENDS.keys()];
}

export function createBackend(type: string): Backend {
  const factory = BACKENDS.get(type);
  if (!factory) throw new ConfigError('Backend.Type', type, `unknown backend type (supported: ${knownBackendTypes().join(', ')})`);
  return factory();
}
