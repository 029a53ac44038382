/**
 * Where the TUN addon comes from in a checkout: dist/native/tun.node, built by native/tun's
 * Makefile. The packaged executables replace this module (scripts/sea/tun-native.cjs).
 */
import { createRequire } from 'node:module';

export function loadTunNative(): unknown {
  return createRequire(import.meta.url)('../../../native/tun.node');
}
