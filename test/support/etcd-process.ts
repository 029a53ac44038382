/**
 * startEtcd(): a real single-member etcd for tests and benchmarks, optionally inside a network
 * namespace (`ip netns exec`). It waits, bounded, until etcd reports healthy.
 *
 * Unix sockets: etcd 3.4 accepts only `unix://name:port` listen URLs and creates the socket
 * file `name:port` in its working directory, which is the work directory here. Its client
 * endpoint is then `unix://<workDir>/name:port` (an absolute path, reachable from any netns).
 * A SIGKILLed etcd leaves the file behind and would fail with EADDRINUSE, so start removes it.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './command.js';
import { HarnessError } from './errors.js';
import { ManagedProcess } from './managed-process.js';
import { poll } from './poll.js';

export interface EtcdTlsFiles {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

export interface StartEtcdOptions {
  /** Listen client URLs; default one free loopback port. `unix://name:port` makes a socket in the work dir. */
  clientUrls?: readonly string[];
  /** Default: a fresh temp dir (removed by dispose()); data lives in `<workDir>/data`. */
  workDir?: string;
  dataDir?: string;
  /** Default a free loopback port (127.0.0.1:2380 inside a netns). */
  peerUrl?: string;
  extraArgs?: readonly string[];
  /** Member name (default "test"). */
  name?: string;
  /** A member of a cluster: `--initial-cluster` (`m1=http://...:2380,m2=...`); default this member alone. */
  initialCluster?: string;
  netns?: string;
  signal?: AbortSignal;
  /** Files the health check presents to an https endpoint (e.g. with --client-cert-auth). */
  tls?: EtcdTlsFiles;
  /** Bound on waiting for health (default 15 s). */
  timeoutMs?: number;
}

export interface EtcdProcess {
  /** The client URLs as client endpoints (unix ones as absolute `unix:///...` paths). */
  readonly clientEndpoints: readonly string[];
  readonly clientEndpoint: string;
  readonly pid: number;
  readonly logFile: string;
  readonly dataDir: string;
  readonly workDir: string;
  /** SIGTERM (SIGKILL after 5 s); data kept. */
  stop(): Promise<void>;
  /** SIGKILL, as if the machine died; data kept. */
  kill(): Promise<void>;
  /** Stops if running, starts again on the same data and URLs, waits until healthy. */
  restart(opts?: { signal?: AbortSignal }): Promise<void>;
  /** Stops and removes the work dir if startEtcd created it. Call it in every teardown. */
  dispose(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  srv.close();
  await once(srv, 'close');
  if (addr === null || typeof addr === 'string') throw new HarnessError('freePort: no TCP address');
  return addr.port;
}

function socketName(url: string): string | undefined {
  const m = /^unixs?:\/\/([^/]+)$/.exec(url);
  return m?.[1];
}

function toEndpoint(url: string, workDir: string): string {
  const name = socketName(url);
  if (name === undefined) return url;
  return `${url.startsWith('unixs') ? 'unixs' : 'unix'}://${join(workDir, name)}`;
}

class EtcdInstance implements EtcdProcess {
  readonly clientEndpoints: readonly string[];
  readonly logFile: string;
  readonly dataDir: string;
  readonly workDir: string;
  #proc: ManagedProcess | undefined;
  readonly #argv: readonly string[];
  readonly #ownsWorkDir: boolean;
  readonly #opts: StartEtcdOptions;
  readonly #onExit = () => this.#proc?.signal('SIGKILL');

  constructor(opts: StartEtcdOptions, clientUrls: readonly string[], peerUrl: string) {
    this.#opts = opts;
    this.#ownsWorkDir = opts.workDir === undefined;
    this.workDir = opts.workDir ?? mkdtempSync(join(tmpdir(), 'etcd-'));
    this.dataDir = opts.dataDir ?? join(this.workDir, 'data');
    this.logFile = join(this.workDir, 'etcd.log');
    this.clientEndpoints = clientUrls.map((u) => toEndpoint(u, this.workDir));
    const advertise = clientUrls.filter((u) => socketName(u) === undefined);
    const etcd = [
      'etcd',
      `--name=${opts.name ?? 'test'}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${clientUrls.join(',')}`,
      `--advertise-client-urls=${(advertise.length > 0 ? advertise : clientUrls).join(',')}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${opts.initialCluster ?? `${opts.name ?? 'test'}=${peerUrl}`}`,
      '--logger=zap',
      '--log-outputs=stderr',
      ...(opts.extraArgs ?? []),
    ];
    this.#argv = opts.netns === undefined ? etcd : ['ip', 'netns', 'exec', opts.netns, ...etcd];
  }

  get clientEndpoint(): string {
    return this.clientEndpoints[0]!;
  }

  get pid(): number {
    return this.#proc?.pid ?? -1;
  }

  async start(signal: AbortSignal | undefined): Promise<void> {
    for (const ep of this.clientEndpoints) {
      if (ep.startsWith('unix')) rmSync(ep.replace(/^unixs?:\/\//, ''), { force: true });
    }
    const proc = new ManagedProcess({ argv: this.#argv, logFile: this.logFile, cwd: this.workDir });
    this.#proc = proc;
    process.once('exit', this.#onExit);
    void proc.exited.then(() => process.removeListener('exit', this.#onExit));
    try {
      await poll(
        async () => {
          if (!proc.running) throw new HarnessError(`etcd exited (code ${proc.exit?.code}) during start-up; see ${this.logFile}:\n${this.logTail()}`);
          return this.healthy();
        },
        { what: `etcd ${this.clientEndpoint} to become healthy`, timeoutMs: this.#opts.timeoutMs ?? 15_000, intervalMs: 50, signal },
      );
    } catch (err) {
      await proc.kill();
      throw err;
    }
  }

  logTail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-8).join('\n');
    } catch {
      return '';
    }
  }

  /** /health over the unix socket if there is one (works across namespaces), else over TCP. */
  async healthy(): Promise<boolean> {
    const ep = this.clientEndpoints.find((e) => e.startsWith('unix')) ?? this.clientEndpoint;
    if (this.#opts.netns !== undefined && !ep.startsWith('unix')) {
      const t = this.#opts.tls ?? {};
      const tlsArgs = [t.caFile && `--cacert=${t.caFile}`, t.certFile && `--cert=${t.certFile}`, t.keyFile && `--key=${t.keyFile}`].filter((a): a is string => !!a);
      const r = await run(['ip', 'netns', 'exec', this.#opts.netns, 'etcdctl', `--endpoints=${ep}`, ...tlsArgs, 'endpoint', 'health'], {
        timeoutMs: 3000,
        allowFailure: true,
        env: { ETCDCTL_API: '3' },
      });
      return r.exitCode === 0;
    }
    return httpHealth(ep, this.#opts.tls ?? {});
  }

  async stop(): Promise<void> {
    await this.#proc?.stop('SIGTERM', 5000);
  }

  async kill(): Promise<void> {
    await this.#proc?.kill();
  }

  async restart(opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.stop();
    await this.start(opts.signal ?? this.#opts.signal);
  }

  async dispose(): Promise<void> {
    try {
      await this.stop();
    } finally {
      if (this.#ownsWorkDir) rmSync(this.workDir, { recursive: true, force: true });
    }
  }
}

function httpHealth(endpoint: string, tls: EtcdTlsFiles): Promise<boolean> {
  const socketPath = endpoint.startsWith('unix') ? endpoint.replace(/^unixs?:\/\//, '') : undefined;
  const secure = endpoint.startsWith('https') || endpoint.startsWith('unixs');
  const url = socketPath === undefined ? new URL(endpoint) : undefined;
  const read = (f: string | undefined) => (f === undefined ? undefined : readFileSync(f));
  return new Promise((resolve) => {
    const options: https.RequestOptions = {
      socketPath,
      host: url?.hostname ?? 'localhost',
      port: url?.port,
      path: '/health',
      timeout: 1000,
      agent: false,
      ...(secure ? { ca: read(tls.caFile), cert: read(tls.certFile), key: read(tls.keyFile) } : {}),
    };
    const req = (secure ? https : http).request(options, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 && (JSON.parse(body) as { health?: string }).health === 'true');
        } catch {
          resolve(false);
        }
      });
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdProcess> {
  const clientUrls = opts.clientUrls ?? [`http://127.0.0.1:${await freePort()}`];
  if (clientUrls.length === 0) throw new HarnessError('startEtcd: clientUrls is empty');
  const peerUrl = opts.peerUrl ?? (opts.netns !== undefined ? 'http://127.0.0.1:2380' : `http://127.0.0.1:${await freePort()}`);
  const etcd = new EtcdInstance(opts, clientUrls, peerUrl);
  try {
    await etcd.start(opts.signal);
  } catch (err) {
    await etcd.dispose();
    throw err;
  }
  return etcd;
}
