/**
 * flannelctl docker-opts: flannel's mk-docker-opts.sh (docker-opts.ts has what it writes) with
 * its flags, getopts style: -f FILE, -d FILE, -i, -c, -k KEY, -m, combinable (-ci, -fFILE), and
 * also Go style (-f=FILE). Writes the Docker env file (-d - : standard output); -o json also
 * prints the options as JSON. As the script, it then fails (exit 1) when the main routing table
 * already routes the subnet via a gateway (a stale route would shadow docker0).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { flagBool, flagString, type FlagSpec } from '../cli/flag-parser.js';
import { errorMessage } from '../errors.js';
import { commandUsage, parseCommandArgs } from './command-flags.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CtlCommand } from './ctl-context.js';
import { bridgeSubnet, DockerOptsError, dockerOptsUsage, renderDockerOpts, sourcedVariables } from './docker-opts.js';
import { renderJSON } from './output.js';

const FLAGS: readonly FlagSpec[] = [
  { name: 'f', kind: 'string', default: '/run/flannel/subnet.env', help: 'path to flannel env `file`' },
  { name: 'd', kind: 'string', default: '/run/docker_opts.env', help: 'path to Docker env `file` to write to (- for standard output)' },
  { name: 'i', kind: 'bool', default: false, help: 'output each Docker option as individual var, e.g. DOCKER_OPT_MTU=1500' },
  { name: 'c', kind: 'bool', default: false, help: 'output combined Docker options into DOCKER_OPTS var' },
  { name: 'k', kind: 'string', default: 'DOCKER_OPTS', help: 'set the combined options `key` to this value' },
  { name: 'm', kind: 'bool', default: false, help: 'do not output --ip-masq (useful for older Docker version)' },
];

const SHORT_WITH_VALUE = new Set(['f', 'd', 'k']);
const SHORT_BOOL = new Set(['i', 'c', 'm']);

export interface DockerOptsDeps {
  /** Lines describing routes of the main table to `subnet` via a gateway ("10.244.5.0/24 via 10.0.0.2 dev eth0"). */
  readonly routesVia: (subnet: string, signal: AbortSignal) => Promise<string[]>;
}

/** getopts' clusters: "-ci" -> "-c" "-i", "-fFILE" -> "-f" "FILE"; anything else as given. */
export function expandShortOptions(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of args) {
    if (arg.length > 2 && arg[0] === '-' && arg[1] !== '-' && !arg.includes('=')) {
      const first = arg[1] ?? '';
      if (SHORT_WITH_VALUE.has(first)) {
        out.push(`-${first}`, arg.slice(2));
        continue;
      }
      const letters = arg.slice(1).split('');
      if (letters.every((c) => SHORT_BOOL.has(c))) {
        out.push(...letters.map((c) => `-${c}`));
        continue;
      }
    }
    out.push(arg);
  }
  return out;
}

export function makeDockerOptsCommand(deps: DockerOptsDeps): CtlCommand {
  return async (ctx, args, signal) => {
    const p = parseCommandArgs(FLAGS, expandShortOptions(args));
    if (p.help) {
      ctx.stdout(commandUsage('docker-opts', ['docker-opts [-f FLANNEL-ENV-FILE] [-d DOCKER-ENV-FILE] [-i] [-c] [-m] [-k COMBINED-KEY]'], FLAGS));
      return EXIT_OK;
    }
    if (p.args[0] !== undefined) {
      ctx.stderr(`flannelctl docker-opts: unexpected argument ${JSON.stringify(p.args[0])}\n${dockerOptsUsage('flannelctl docker-opts')}`);
      return EXIT_USAGE;
    }
    const file = flagString(p, 'f');
    const dest = flagString(p, 'd');
    const key = flagString(p, 'k');
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      ctx.stderr(`flannelctl docker-opts: invalid value ${JSON.stringify(key)} for flag -k: not a shell variable name\n`);
      return EXIT_USAGE;
    }
    let text: string | undefined;
    try {
      text = await readFile(file, { encoding: 'utf8', signal });
    } catch (err) {
      // As the script: a missing subnet file is no error (FLANNEL_* may come from the environment).
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const vars = sourcedVariables(ctx.env, text);
    let out: string;
    try {
      out = renderDockerOpts(vars, { individual: flagBool(p, 'i'), combined: flagBool(p, 'c'), combinedKey: key, ipMasq: !flagBool(p, 'm') });
    } catch (err) {
      if (!(err instanceof DockerOptsError)) throw err;
      ctx.stderr(`${err.message}\n`);
      return EXIT_FAILURE;
    }
    if (dest === '-') ctx.stdout(out);
    else await writeFile(dest, out, { signal });
    if (ctx.options.output === 'json') {
      const options = Object.fromEntries(out.trimEnd().split('\n').filter((l) => l !== '').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 2, -1)]));
      ctx.stdout(renderJSON({ file: dest === '-' ? null : dest, subnetFile: text === undefined ? null : file, options }));
    }
    const subnet = bridgeSubnet(vars);
    if (subnet !== undefined) {
      let routes: string[] = [];
      try {
        routes = await deps.routesVia(subnet, signal);
      } catch (err) {
        ctx.stderr(`flannelctl docker-opts: could not read the routing table: ${errorMessage(err)}\n`);
      }
      if (routes.length > 0) {
        ctx.stderr(`Your routing table already contains the subnet: ${routes.join('\n')}\n`);
        return EXIT_FAILURE;
      }
    }
    return EXIT_OK;
  };
}

/** Routes of the main table to `subnet` with a gateway, read over rtnetlink. */
async function netlinkRoutesVia(subnet: string, signal: AbortSignal): Promise<string[]> {
  const [{ NetlinkKernel }, { IPNetwork }] = await Promise.all([import('../kernel/kernel-ops.js'), import('../ip/ip-network.js')]);
  const dst = IPNetwork.parse(subnet);
  const kernel = new NetlinkKernel();
  try {
    const routes = await kernel.listRoutes({ family: 4, dst }, { signal });
    const links = new Map((await kernel.listLinks({ signal })).map((l) => [l.index, l.name]));
    return routes
      .filter((r) => r.gateway !== undefined && r.dst.equals(dst))
      .map((r) => `${r.dst.toString()} via ${r.gateway?.toString() ?? ''}${r.linkIndex !== undefined ? ` dev ${links.get(r.linkIndex) ?? r.linkIndex}` : ''}`);
  } finally {
    kernel.close();
  }
}

export const dockerOptsCommand: CtlCommand = makeDockerOptsCommand({ routesVia: netlinkRoutesVia });
