/**
 * The cluster's etcd: a startEtcd() process (test/support/etcd-process.ts) in the etcd
 * namespace, listening on the underlay URL (for agents) and on a unix socket in the run's temp
 * dir (for the test process in the root namespace), seen through the names tests use.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startEtcd, type EtcdProcess } from '../support/etcd-process.js';

/** etcd 3.4 wants `unix://name:port` and creates the socket file `name:port` in its work dir. */
export const ETCD_SOCKET_NAME = 'etcd.sock:2379';

export class ClusterEtcd {
  /** Client URL on the underlay, e.g. 'http://192.168.77.2:2379'. */
  readonly url: string;
  /** The unix socket as an etcd client endpoint ('unix:///tmp/.../etcd.sock:2379', for etcdctl). */
  readonly unixEndpoint: string;
  /** The unix socket's path, for an HTTP client's `socketPath`. */
  readonly socketPath: string;
  readonly #proc: EtcdProcess;
  #up = true;

  private constructor(url: string, proc: EtcdProcess) {
    this.url = url;
    this.#proc = proc;
    this.socketPath = join(proc.workDir, ETCD_SOCKET_NAME);
    this.unixEndpoint = `unix://${this.socketPath}`;
  }

  static async start(opts: { dir: string; netns: string; url: string; signal?: AbortSignal }): Promise<ClusterEtcd> {
    await mkdir(opts.dir, { recursive: true });
    const proc = await startEtcd({
      workDir: opts.dir,
      clientUrls: [opts.url, `unix://${ETCD_SOCKET_NAME}`],
      netns: opts.netns,
      // One member: a short election timeout makes a restart elect itself in ~0.1 s, not 1 s.
      extraArgs: ['--heartbeat-interval=20', '--election-timeout=200'],
      signal: opts.signal,
    });
    return new ClusterEtcd(opts.url, proc);
  }

  get logFile(): string {
    return this.#proc.logFile;
  }

  get dataDir(): string {
    return this.#proc.dataDir;
  }

  /** True while etcd runs (after start or restart, until stop, kill or its own exit). */
  get running(): boolean {
    if (!this.#up) return false;
    try {
      process.kill(this.#proc.pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** Pid of the running etcd, undefined when it is not running. */
  get pid(): number | undefined {
    return this.running ? this.#proc.pid : undefined;
  }

  /** Graceful stop: SIGTERM, SIGKILL after 5 s. Data kept. */
  async stop(): Promise<void> {
    this.#up = false;
    await this.#proc.stop();
  }

  /** SIGKILL, as if the machine running etcd died. Data kept. */
  async kill(): Promise<void> {
    this.#up = false;
    await this.#proc.kill();
  }

  /** Stops if running, starts again on the same data dir and URLs, waits until healthy. */
  async restart(opts: { signal?: AbortSignal } = {}): Promise<void> {
    this.#up = false;
    await this.#proc.restart(opts);
    this.#up = true;
  }
}
