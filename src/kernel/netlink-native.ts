/**
 * Where the `netlink` package's JavaScript socket layer (netlink/dist/raw.js, which loads the
 * native binding) comes from. Run from the repository: node_modules, through require. In the
 * packaged executables esbuild bundles raw.js itself and replaces its binding loader with
 * src/sea/native-addon.ts, so this module is never used there.
 */
import { createRequire } from 'node:module';

/** The CommonJS module netlink/dist/raw.js. */
export function loadNetlinkRaw(): unknown {
  return createRequire(import.meta.url)('netlink/dist/raw.js');
}
