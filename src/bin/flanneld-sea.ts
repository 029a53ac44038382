/**
 * The entry point of the packaged `flanneld` executable (scripts/package.mjs bundles it into the
 * single-executable application): what bin/flanneld does on a node install. The V8 flags that
 * bin/flanneld's shebang would carry live in the executable's own configuration (execArgv).
 */
import { flanneldMain } from '../daemon/main.js';

flanneldMain(process.argv.slice(2), process.env, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`flanneld: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
