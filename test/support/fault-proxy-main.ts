/**
 * The fault proxy as a process: `node fault-proxy-main.js <listen host:port> <target host:port>
 * <control socket>` (see fault-proxy.ts). Exits on SIGTERM/SIGINT.
 */
import { FaultProxy, serveControl, type Address } from './fault-proxy.js';

function address(arg: string | undefined, what: string): Address {
  const m = /^(.+):(\d+)$/.exec(arg ?? '');
  if (!m) {
    process.stderr.write(`fault-proxy: ${what} ${JSON.stringify(arg)}: want host:port\n`);
    process.exit(2);
  }
  return { host: m[1]!, port: Number(m[2]) };
}

const [listenArg, targetArg, controlPath] = process.argv.slice(2);
const proxy = new FaultProxy(address(listenArg, 'listen'), address(targetArg, 'target'));
if (controlPath === undefined) {
  process.stderr.write('fault-proxy: no control socket path\n');
  process.exit(2);
}
await proxy.start();
const control = await serveControl(proxy, controlPath);
process.stderr.write(`fault-proxy: ${listenArg} -> ${targetArg}, control ${controlPath}\n`);
const stop = () => {
  control.close();
  void proxy.stop().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
