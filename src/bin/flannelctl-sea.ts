/**
 * The entry point of the packaged `flannelctl` executable (scripts/package.mjs can bundle it into
 * a single-executable application): what bin/flannelctl does on a node install.
 */
import { runFlannelctl } from './flannelctl.js';

runFlannelctl().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`flannelctl: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
