/**
 * Where the spawn addon (native/spawn/spawn.c) comes from in a checkout: dist/native/spawn.node,
 * built by native/'s Makefile. The packaged plugin replaces this module
 * (scripts/sea/spawn-native.cjs): there the addon travels inside the executable.
 */
import { createRequire } from 'node:module';

export function loadSpawnNative(): unknown {
  return createRequire(import.meta.url)('../../native/spawn.node');
}
