/**
 * A cloud API stand-in as its own process, for the multi-host tests (run inside a test namespace):
 *
 *   node dist/test/cloud/standin-host.js --module <name> --listen <ip:port> --control <unix socket>
 *        [--opt key=value ...]
 *
 * Imports `./<name>.js` from this folder (e.g. `ec2-standin` -> dist/test/cloud/ec2-standin.js),
 * takes its StandinFactory — the module's `createStandin` export, else its default export — and
 * calls it with the `--opt` pairs. It serves the app's handle() on the TCP address (the API and
 * metadata service, as the cloud does) and its control() on the unix socket (JSON over HTTP,
 * reachable from the test process in any namespace since the socket is a file). Prints
 * `standin <name> listening on <ip:port>, control <path>` once both listen; SIGTERM/SIGINT close
 * both and exit 0. Bad arguments: a message on stderr and exit 2.
 */
import { createServer, type Server } from 'node:http';
import { rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { StandinApp, StandinFactory } from './standin-app.js';

export interface StandinHostArgs {
  readonly module: string;
  readonly host: string;
  readonly port: number;
  readonly control: string;
  readonly options: Readonly<Record<string, string>>;
}

export class StandinArgsError extends Error {}

/** Parses the command line above; throws StandinArgsError naming the bad argument. */
export function parseStandinHostArgs(argv: readonly string[]): StandinHostArgs {
  let module: string | undefined;
  let listen: string | undefined;
  let control: string | undefined;
  const options: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new StandinArgsError(`${flag}: missing value`);
    i++;
    if (flag === '--module') module = value;
    else if (flag === '--listen') listen = value;
    else if (flag === '--control') control = value;
    else if (flag === '--opt') {
      const eq = value.indexOf('=');
      if (eq <= 0) throw new StandinArgsError(`--opt ${JSON.stringify(value)}: want key=value`);
      options[value.slice(0, eq)] = value.slice(eq + 1);
    } else throw new StandinArgsError(`unknown argument ${JSON.stringify(flag)}`);
  }
  if (!module || !/^[a-z0-9][a-z0-9-]*$/.test(module)) throw new StandinArgsError(`--module ${JSON.stringify(module ?? '')}: want a module name of this folder, e.g. ec2-standin`);
  const m = listen ? /^(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:]+\]):(\d{1,5})$/i.exec(listen) : null;
  if (!m || Number(m[2]) > 65535) throw new StandinArgsError(`--listen ${JSON.stringify(listen ?? '')}: want <ip>:<port>`);
  if (!control || !control.startsWith('/')) throw new StandinArgsError(`--control ${JSON.stringify(control ?? '')}: want an absolute unix socket path`);
  return { module, host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]), control, options };
}

/** Loads `./<name>.js` and returns its factory (`createStandin`, else the default export). */
export async function loadStandinFactory(name: string): Promise<StandinFactory> {
  const mod = (await import(new URL(`./${name}.js`, import.meta.url).href)) as { createStandin?: unknown; default?: unknown };
  const factory = mod.createStandin ?? mod.default;
  if (typeof factory !== 'function') throw new StandinArgsError(`module ${name} exports no StandinFactory (createStandin or default)`);
  return factory as StandinFactory;
}

function listen(server: Server, target: { host: string; port: number } | { path: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if ('path' in target) server.listen(target.path, done);
    else server.listen(target.port, target.host, done);
  });
}

/** Serves `app` on the TCP address and the control socket; resolves to the two servers. */
export async function serveStandin(app: StandinApp, args: Pick<StandinHostArgs, 'host' | 'port' | 'control'>): Promise<{ api: Server; control: Server }> {
  const api = createServer((req, res) => app.handle(req, res));
  const control = createServer((req, res) => app.control(req, res));
  await listen(api, { host: args.host, port: args.port });
  rmSync(args.control, { force: true });
  await listen(control, { path: args.control });
  return { api, control };
}

async function main(argv: readonly string[]): Promise<number> {
  let args: StandinHostArgs;
  try {
    args = parseStandinHostArgs(argv);
  } catch (err) {
    process.stderr.write(`standin-host: ${(err as Error).message}\n`);
    return 2;
  }
  const app = (await loadStandinFactory(args.module))(args.options);
  const servers = await serveStandin(app, args);
  process.stdout.write(`standin ${args.module} listening on ${args.host}:${args.port}, control ${args.control}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  servers.api.closeAllConnections();
  servers.control.closeAllConnections();
  await Promise.all([new Promise((r) => servers.api.close(r)), new Promise((r) => servers.control.close(r))]);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
