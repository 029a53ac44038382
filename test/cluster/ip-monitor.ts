/**
 * `ip -o monitor` running in a host namespace while a test does something, to prove what the
 * kernel saw (e.g. that an agent restart changed no route, neighbour or link). The monitor is
 * known to be listening once a marker address it was made to see shows up in its output.
 */
import { spawn } from 'node:child_process';
import { poll } from '../support/poll.js';
import type { Cluster } from './harness.js';

export interface IpMonitor {
  /** Stops the monitor; resolves to the event lines it printed (marker lines removed). */
  stop(): Promise<string[]>;
}

const MARKER = '127.0.0.77';

/** Starts `ip -o monitor link address route neigh` in host `host` and waits until it listens. */
export async function startIpMonitor(cluster: Cluster, host: number): Promise<IpMonitor> {
  const ns = cluster.hostNs(host);
  const child = spawn('ip', ['netns', 'exec', ns, 'ip', '-o', 'monitor', 'link', 'address', 'route', 'neigh'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.resume();
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const kill = () => child.kill('SIGKILL');
  cluster.signal.addEventListener('abort', kill, { once: true });
  const stop = async () => {
    child.kill('SIGTERM');
    await Promise.race([exited, poll(() => child.exitCode !== null || child.signalCode !== null, { what: 'ip monitor to exit', timeoutMs: 3000 })]).catch(() => kill());
    cluster.signal.removeEventListener('abort', kill);
    return out.split('\n').filter((l) => l.trim() !== '' && !l.includes(MARKER));
  };
  try {
    // Bounded: each round adds and removes the marker until the monitor printed it.
    await poll(
      async () => {
        await cluster.exec(host, ['ip', 'addr', 'add', `${MARKER}/32`, 'dev', 'lo'], { allowFailure: true });
        await cluster.exec(host, ['ip', 'addr', 'del', `${MARKER}/32`, 'dev', 'lo'], { allowFailure: true });
        return out.includes(MARKER);
      },
      { what: `ip monitor in host ${host} to listen`, timeoutMs: 5000, intervalMs: 50, signal: cluster.signal },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}
