/**
 * The local demo, the README's main job:
 *   node dist/demo/demo.js up [--backend=TYPE] [--detach]   (as root; Ctrl-C tears down)
 *   node dist/demo/demo.js down                             (tears down a detached demo)
 * A real etcd and three network-namespace hosts running flanneld, each printing its lease, and
 * two pods per host attached through the flannel CNI plugin, pinging each other across hosts.
 */
import { knownBackendTypes } from '../src/backend/registry.js';
import { demoDown } from './demo-down.js';
import { demoUpDetached } from './demo-detach.js';
import { demoUp } from './demo-up.js';

const USAGE = `usage: demo.js up [--backend=TYPE] [--detach]
       demo.js down

  up         bring up etcd and three flanneld hosts in network namespaces, print their leases,
             attach two pods per host through the flannel CNI plugin, print a cross-host ping
             matrix, and stay in the foreground until Ctrl-C, then tear everything down
  --backend  the network config's Backend.Type (default vxlan; known: ${knownBackendTypes().join(', ')})
  --detach   return once the demo is up; it keeps running in the background
  down       tear down a demo (detached, or running in another terminal)
`;

const say = (msg: string) => process.stdout.write(`demo: ${msg}\n`);

interface Parsed {
  command: 'up' | 'down';
  backend: string;
  detach: boolean;
  /** Internal: this process is the background supervisor of a detached demo. */
  supervise: boolean;
}

function parseArgs(argv: readonly string[]): Parsed | string {
  const [command, ...rest] = argv;
  if (command !== 'up' && command !== 'down') return command === undefined ? 'missing command' : `unknown command ${JSON.stringify(command)}`;
  const out: Parsed = { command, backend: 'vxlan', detach: false, supervise: false };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] ?? '';
    if (command === 'up' && (arg === '--detach' || arg === '-d')) out.detach = true;
    else if (command === 'up' && arg === '--supervise') out.supervise = true;
    else if (command === 'up' && arg.startsWith('--backend=')) out.backend = arg.slice('--backend='.length);
    else if (command === 'up' && arg === '--backend') {
      const v = rest[++i];
      if (v === undefined) return '--backend needs a value';
      out.backend = v;
    } else return `unknown argument ${JSON.stringify(arg)} for ${command}`;
  }
  if (!knownBackendTypes().includes(out.backend)) return `--backend=${out.backend}: unknown backend (known: ${knownBackendTypes().join(', ')})`;
  return out;
}

/** Ctrl-C / SIGTERM abort the demo (it then tears down); a third one exits at once. */
function interruptSignal(): AbortSignal {
  const ac = new AbortController();
  let count = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      say(`received ${sig}`);
      ac.abort(new Error(sig));
    } else if (count === 2) {
      say('still tearing down; send it once more to exit at once (the harness then kills what it can)');
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return ac.signal;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const parsed = parseArgs(argv);
  if (typeof parsed === 'string') {
    process.stderr.write(`demo: ${parsed}\n${USAGE}`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('demo: needs root (network namespaces); run: sudo ./scripts/demo.sh\n');
    return 1;
  }
  if (parsed.command === 'down') {
    await demoDown(say);
    return 0;
  }
  const signal = interruptSignal();
  if (parsed.detach && !parsed.supervise) return demoUpDetached({ backend: parsed.backend, detached: true }, say, signal);
  // A detached supervisor has no terminal; a late hang-up must not kill it.
  if (parsed.supervise) process.on('SIGHUP', () => {});
  return demoUp({ backend: parsed.backend, detached: parsed.supervise }, say, signal);
}

process.exitCode = await main(process.argv.slice(2));
