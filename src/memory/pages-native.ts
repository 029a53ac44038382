/**
 * Where the pages addon comes from in a checkout: dist/native/pages.node, built by native/'s
 * Makefile. The packaged executables replace this module (scripts/sea/pages-native.cjs).
 */
import { createRequire } from 'node:module';

export function loadPagesNative(): unknown {
  return createRequire(import.meta.url)('../../native/pages.node');
}
