/**
 * Where the spawn addon (native/spawn/spawn.c) comes from in a checkout: dist/native/spawn.node,
 * built by native/'s Makefile. The packaged plugin replaces this module
 * (scripts/sea/spawn-native.cjs): there the addon travels inside the executable.
 */
import { fileURLToPath } from 'node:url';

export function loadSpawnNative(): unknown {
  const mod = { exports: {} as unknown };
  process.dlopen(mod, fileURLToPath(new URL('../../native/spawn.node', import.meta.url)));
  return mod.exports;
}
