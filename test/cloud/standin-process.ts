/**
 * The test side of standin-host.ts: starts a cloud API stand-in as a process inside a host
 * namespace of the test cluster (through Cluster.startAgent, so the harness logs, stops and
 * cleans it up like any agent) and talks to its control socket.
 *
 *   const api = await startStandinProcess(cluster, 4, { module: 'ec2-standin', port: 8080 });
 *   // api.url = http://192.168.77.14:8080 (reachable from every host namespace)
 *   const state = await api.control('GET', '/state');
 */
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Agent, Cluster } from '../cluster/harness.js';
import { poll } from '../support/poll.js';

export interface StandinProcessOptions {
  /** Module of test/cloud to serve, e.g. `ec2-standin`. */
  readonly module: string;
  /** TCP port on the host's underlay address (default 8080). */
  readonly port?: number;
  /** Passed as `--opt key=value`. */
  readonly options?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export interface StandinProcess {
  /** `http://<host address>:<port>`: the API and metadata endpoint for agents. */
  readonly url: string;
  readonly address: string;
  readonly port: number;
  readonly controlSocket: string;
  readonly process: Agent;
  /** One control request (JSON body in and out); rejects on a non-2xx answer with its body. */
  control<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  stop(): Promise<number>;
}

/** dist/test/cloud/standin-host.js, next to this file once built. */
export const STANDIN_HOST_PATH = fileURLToPath(new URL('./standin-host.js', import.meta.url));

/** A JSON request over a unix socket; rejects on a non-2xx answer (message: status and body). */
export function controlRequest<T>(socketPath: string, method: string, path: string, body?: unknown, timeoutMs = 5000): Promise<T> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const req = request(
      { socketPath, method, path, timeout: timeoutMs, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) {
            reject(new Error(`stand-in control ${method} ${path}: HTTP ${res.statusCode}: ${text}`));
            return;
          }
          try {
            resolve((text === '' ? undefined : JSON.parse(text)) as T);
          } catch (err) {
            reject(new Error(`stand-in control ${method} ${path}: not JSON: ${text.slice(0, 200)}`, { cause: err }));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`stand-in control ${method} ${path}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Starts standin-host.js in host `host`'s namespace (its log goes to that host's flanneld.log)
 * and waits until its control socket answers `GET /state`.
 */
export async function startStandinProcess(cluster: Cluster, host: number, opts: StandinProcessOptions): Promise<StandinProcess> {
  const port = opts.port ?? 8080;
  const address = cluster.hostAddress(host);
  const controlSocket = join(cluster.hostDir(host), `${opts.module}.control.sock`);
  const args = ['--module', opts.module, '--listen', `${address}:${port}`, '--control', controlSocket];
  for (const [k, v] of Object.entries(opts.options ?? {})) args.push('--opt', `${k}=${v}`);
  const proc = cluster.startAgent(host, { command: [process.execPath, STANDIN_HOST_PATH], args, defaultArgs: false });
  const control = <T>(method: string, path: string, body?: unknown) => controlRequest<T>(controlSocket, method, path, body);
  await poll(
    async () => {
      if (!proc.running) throw new Error(`stand-in ${opts.module} exited with ${proc.exitCode} (log: ${proc.logFile})`);
      return (await control('GET', '/state').then(() => true).catch(() => false)) || undefined;
    },
    { what: `stand-in ${opts.module} control socket ${controlSocket}`, timeoutMs: opts.timeoutMs ?? 10_000, intervalMs: 50, signal: cluster.signal },
  );
  return { url: `http://${address}:${port}`, address, port, controlSocket, process: proc, control, stop: () => proc.stop() };
}

/**
 * Polls `read` (a table's flannel routes: destination -> target as the test spells it) until it
 * holds exactly `want`; resolves with what it read.
 */
export function waitForRouteMap(
  read: () => Promise<ReadonlyMap<string, string>>,
  want: ReadonlyMap<string, string>,
  what: string,
  opts: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<ReadonlyMap<string, string>> {
  return poll(
    async () => {
      const have = await read();
      return have.size === want.size && [...want].every(([k, v]) => have.get(k) === v) ? have : undefined;
    },
    { what, timeoutMs: opts.timeoutMs, intervalMs: opts.intervalMs ?? 100, signal: opts.signal },
  );
}
