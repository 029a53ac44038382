/**
 * The multi-host test cluster: network namespaces as hosts on one bridged underlay
 * (192.168.77.0/24, fd77::/64 with ipv6), a real etcd at 192.168.77.2, and agents (flanneld)
 * started inside host namespaces. Every name this run creates starts with a unique prefix
 * `ftst-<4 hex>-`; a marker /run/flannel-ts-test/<prefix>.pid lets later runs clean up after
 * a run that crashed. Layout:
 *   <p>ul    underlay namespace, bridge <p>br0 = 192.168.77.1 (fd77::1)
 *   <p>etcd  etcd namespace, iface <p>etcd = 192.168.77.2 (fd77::2)
 *   <p>hN    host N (1-based), iface <p>hN = 192.168.77.(10+N) (fd77::(10+N)); bridge end <p>hNb
 *   <p>...   extra namespaces from createExtraNamespace() (e.g. pods, see pods.ts)
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunOptions, type RunResult } from '../support/command.js';
import { HarnessError } from '../support/errors.js';
import { commandFile, flanneldCommand } from '../support/implementation.js';
import { MARKER_DIR, cleanStaleNetns, createNetns, deleteNetns, markerPath, netnsPids, processStartTime, runIn, type RunMarker } from '../support/netns.js';
import { Agent } from './agent.js';
import { ClusterEtcd } from './cluster-etcd.js';
import { IFNAME_MAX, attachNode, createUnderlay, nodeAddress, nodeAddress6, type UnderlaySpec } from './underlay.js';

export { Agent } from './agent.js';
export { ClusterEtcd } from './cluster-etcd.js';

/** Every harness run's names start with this. */
export const PREFIX_ROOT = 'ftst-';
export const ETCD_ADDRESS = nodeAddress(2);
export const ETCD_URL = `http://${ETCD_ADDRESS}:2379`;
export const NETWORK_CONFIG_KEY = '/coreos.com/network/config';
const MAX_HOSTS = 200;
/** Suffixes the harness itself uses for namespaces. */
const RESERVED_SUFFIX = /^(ul|etcd|h\d+)$/;

/** The repository root, from dist/test/cluster/harness.js. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const FLANNELD_PATH = join(REPO_ROOT, 'bin', 'flanneld');

export interface ClusterOptions {
  hosts: number;
  ipv6?: boolean;
  /** Start etcd (default true). */
  etcd?: boolean;
  signal?: AbortSignal;
  /** Keep the temp dir (logs, etcd data) after destroy(); default: env FTST_KEEP_TMP=1. */
  keepTmpDir?: boolean;
  /** IPv4 prefix length of the underlay, 16..24 (default 24): 16 puts all of 192.168.0.0/16 on-link. */
  underlayPrefixLength?: number;
  /**
   * Absolute paths each host sees privately (e.g. /run/wireguard, whose UAPI sockets would
   * collide): for its agents and exec(), <hostdir>/private/<path> is bind-mounted over the path in
   * a mount namespace of their own. The directory outlives agents, so a restarted agent finds
   * what the last one left there.
   */
  privateDirs?: readonly string[];
}

export interface StartAgentOptions {
  /** Appended after the default args (a repeated flag's last value wins). */
  args?: string[];
  env?: Record<string, string>;
  /** Replaces `[node, bin/flanneld]`, e.g. to run a stand-in script. */
  command?: string[];
  /** Set false to drop the default args entirely. */
  defaultArgs?: boolean;
}

export async function createCluster(opts: ClusterOptions): Promise<Cluster> {
  if (!Number.isInteger(opts.hosts) || opts.hosts < 0 || opts.hosts > MAX_HOSTS) {
    throw new HarnessError(`createCluster: hosts=${opts.hosts}: want an integer in [0, ${MAX_HOSTS}]`);
  }
  const len = opts.underlayPrefixLength;
  if (len !== undefined && (!Number.isInteger(len) || len < 16 || len > 24)) {
    throw new HarnessError(`createCluster: underlayPrefixLength=${len}: want an integer in [16, 24]`);
  }
  opts.signal?.throwIfAborted();
  await cleanStaleNetns(PREFIX_ROOT, { signal: opts.signal });
  const { prefix, tmp } = await claimPrefix();
  const cluster = new Cluster(prefix, tmp, opts);
  try {
    await cluster.init(opts.hosts, opts.etcd ?? true);
  } catch (err) {
    await cluster.destroy().catch(() => {});
    throw err;
  }
  return cluster;
}

/** Picks a fresh run prefix and claims it by creating its marker exclusively (bounded retries). */
async function claimPrefix(): Promise<{ prefix: string; tmp: string }> {
  await mkdir(MARKER_DIR, { recursive: true });
  for (let attempt = 0; attempt < 20; attempt++) {
    const prefix = `${PREFIX_ROOT}${randomBytes(2).toString('hex')}-`;
    const tmp = await mkdtemp(join(tmpdir(), prefix));
    const marker: RunMarker = { pid: process.pid, startTime: processStartTime(process.pid), tmpDir: tmp };
    try {
      await writeFile(markerPath(prefix), JSON.stringify(marker) + '\n', { flag: 'wx' });
      return { prefix, tmp };
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new HarnessError(`no free run prefix after 20 attempts (markers in ${MARKER_DIR})`);
}

function killPid(text: string): void {
  const pid = Number.parseInt(text, 10);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** SIGKILLs every process inside namespace `ns`. */
async function killNetnsProcesses(ns: string): Promise<void> {
  for (const pid of await netnsPids(ns)) killPid(String(pid));
}

export class Cluster {
  readonly prefix: string;
  readonly tmpDir: string;
  readonly ipv6: boolean;
  readonly underlayNs: string;
  readonly bridge: string;
  readonly etcdNs: string;
  readonly #underlay: UnderlaySpec;
  readonly #keepTmp: boolean;
  readonly #ac = new AbortController();
  readonly #namespaces: string[] = [];
  readonly #extra = new Set<string>();
  readonly #agents: Agent[] = [];
  readonly #privateDirs: readonly string[];
  #hosts = 0;
  #etcd: ClusterEtcd | undefined;
  #destroyed: Promise<void> | undefined;
  readonly #onExit = () => this.#destroySync();
  readonly #outerSignal: AbortSignal | undefined;
  readonly #onOuterAbort = () => this.#ac.abort(this.#outerSignal?.reason);

  /** Use createCluster(). */
  constructor(prefix: string, tmp: string, opts: ClusterOptions) {
    this.prefix = prefix;
    this.tmpDir = tmp;
    this.ipv6 = opts.ipv6 ?? false;
    this.underlayNs = `${prefix}ul`;
    this.bridge = `${prefix}br0`;
    this.etcdNs = `${prefix}etcd`;
    this.#underlay = { ns: this.underlayNs, bridge: this.bridge, ipv6: this.ipv6, v4PrefixLength: opts.underlayPrefixLength };
    this.#keepTmp = opts.keepTmpDir ?? process.env.FTST_KEEP_TMP === '1';
    this.#privateDirs = opts.privateDirs ?? [];
    for (const d of this.#privateDirs) if (!d.startsWith('/') || d.includes("'")) throw new HarnessError(`privateDirs: ${d} is not a plain absolute path`);
    // Every command and wait of the run listens on this signal.
    setMaxListeners(1000, this.#ac.signal);
    this.#outerSignal = opts.signal;
    if (opts.signal?.aborted) this.#ac.abort(opts.signal.reason);
    opts.signal?.addEventListener('abort', this.#onOuterAbort, { once: true });
    process.on('exit', this.#onExit);
  }

  /** Aborted when destroy() starts (or the createCluster signal fires). */
  get signal(): AbortSignal {
    return this.#ac.signal;
  }

  /** @internal Called once by createCluster. */
  async init(hosts: number, withEtcd: boolean): Promise<void> {
    this.#namespaces.push(this.underlayNs);
    await createUnderlay(this.#underlay, this.signal);
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < hosts; i++) work.push(this.addHost());
    if (withEtcd) work.push(this.#startEtcd());
    // Let every step finish before the caller tears down, so nothing is created after it.
    const failed = (await Promise.allSettled(work)).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async #startEtcd(): Promise<void> {
    this.#namespaces.push(this.etcdNs);
    const spec = { ns: this.etcdNs, ifname: this.etcdNs, peerName: `${this.etcdNs}b`, suffix: 2 };
    await attachNode(this.#underlay, spec, this.signal);
    this.#etcd = await ClusterEtcd.start({ dir: join(this.tmpDir, 'etcd'), netns: this.etcdNs, url: ETCD_URL, signal: this.signal });
  }

  /** The cluster's etcd; throws when the cluster was created with `etcd: false`. */
  get etcd(): ClusterEtcd {
    if (!this.#etcd) throw new HarnessError(`cluster ${this.prefix} has no etcd (created with etcd: false)`);
    return this.#etcd;
  }

  get hostCount(): number {
    return this.#hosts;
  }

  /** Agents started so far (running or not). */
  get agents(): readonly Agent[] {
    return this.#agents;
  }

  #checkHost(i: number): void {
    if (!Number.isInteger(i) || i < 1 || i > this.#hosts) {
      throw new HarnessError(`cluster ${this.prefix}: no host ${i} (hosts are 1..${this.#hosts})`);
    }
  }

  hostNs(i: number): string {
    this.#checkHost(i);
    return `${this.prefix}h${i}`;
  }

  /** The host's underlay interface (inside its namespace); its default route goes through it. */
  hostIface(i: number): string {
    return this.hostNs(i);
  }

  hostAddress(i: number): string {
    this.#checkHost(i);
    return nodeAddress(10 + i);
  }

  hostAddress6(i: number): string {
    this.#checkHost(i);
    if (!this.ipv6) throw new HarnessError(`cluster ${this.prefix} has no IPv6 underlay (created without ipv6)`);
    return nodeAddress6(10 + i);
  }

  /** Per-host temp dir (subnet.env, flanneld.log). */
  hostDir(i: number): string {
    this.#checkHost(i);
    return join(this.tmpDir, `h${i}`);
  }

  /** Adds one more host; resolves to its index. */
  async addHost(): Promise<number> {
    this.#assertLive();
    if (this.#hosts >= MAX_HOSTS) throw new HarnessError(`cluster ${this.prefix}: at most ${MAX_HOSTS} hosts`);
    const i = ++this.#hosts;
    const ns = `${this.prefix}h${i}`;
    if (ns.length + 1 > IFNAME_MAX) throw new HarnessError(`interface name ${ns}b longer than ${IFNAME_MAX}`);
    this.#namespaces.push(ns);
    await mkdir(join(this.tmpDir, `h${i}`), { recursive: true });
    await attachNode(this.#underlay, { ns, ifname: ns, peerName: `${ns}b`, suffix: 10 + i }, this.signal);
    return i;
  }

  /**
   * Creates one more namespace `<prefix><suffix>` (e.g. a pod), owned by this run: deleted by
   * destroy() and, after a crash, by the next run's stale clean-up. Resolves to its name.
   */
  async createExtraNamespace(suffix: string): Promise<string> {
    this.#assertLive();
    if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(suffix) || RESERVED_SUFFIX.test(suffix)) {
      throw new HarnessError(`cluster ${this.prefix}: namespace suffix ${JSON.stringify(suffix)} is not allowed (want [a-z0-9-], not ul, etcd or h<N>)`);
    }
    const ns = `${this.prefix}${suffix}`;
    if (this.#namespaces.includes(ns)) throw new HarnessError(`cluster ${this.prefix}: namespace ${ns} exists already`);
    this.#namespaces.push(ns);
    this.#extra.add(ns);
    await createNetns(ns, { signal: this.signal });
    return ns;
  }

  /** Runs argv inside host i's namespace (with the host's private directories). */
  exec(i: number, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return runIn(this.hostNs(i), this.withPrivateDirs(i, argv), { signal: this.signal, ...opts });
  }

  /** argv wrapped so that it sees host i's private directories (unchanged when there are none). */
  withPrivateDirs(i: number, argv: readonly string[]): string[] {
    if (this.#privateDirs.length === 0) return [...argv];
    const mounts = this.#privateDirs.map((d) => {
      const src = join(this.hostDir(i), 'private', d);
      return `mkdir -p '${src}' '${d}'; mount --bind '${src}' '${d}'`;
    });
    return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', `set -e; ${mounts.join('; ')}; exec "$@"`, 'sh', ...argv];
  }

  /** Runs etcdctl (v3 API) inside the etcd namespace against ETCD_URL; resolves to stdout. */
  async etcdctl(args: readonly string[], opts: RunOptions = {}): Promise<string> {
    if (!this.#etcd) throw new HarnessError(`cluster ${this.prefix} has no etcd (created with etcd: false)`);
    const argv = ['etcdctl', `--endpoints=${ETCD_URL}`, '--dial-timeout=2s', '--command-timeout=5s', ...args];
    const res = await runIn(this.etcdNs, argv, {
      signal: this.signal,
      ...opts,
      env: { ETCDCTL_API: '3', ...opts.env },
    });
    return res.stdout;
  }

  /** Writes the network config (JSON) to /coreos.com/network/config. */
  async putConfig(config: unknown): Promise<void> {
    await this.etcdctl(['put', NETWORK_CONFIG_KEY, JSON.stringify(config)]);
  }

  /**
   * Starts an agent in host i: `node bin/flanneld -etcd-endpoints=http://192.168.77.2:2379
   * -subnet-file=<hostdir>/subnet.env -healthz-port=0 <args>`, output appended to
   * <hostdir>/flanneld.log.
   */
  startAgent(i: number, opts: StartAgentOptions = {}): Agent {
    this.#assertLive();
    const dir = this.hostDir(i);
    const subnetFile = join(dir, 'subnet.env');
    // bin/flanneld (its shebang carries the node flags) or the packaged executable (FLANNEL_TS_PACKAGED)
    const command = opts.command ?? flanneldCommand();
    if (!opts.command && !existsSync(commandFile(command))) throw new HarnessError(`flanneld not found at ${commandFile(command)}`);
    const defaults = [`-etcd-endpoints=${ETCD_URL}`, `-subnet-file=${subnetFile}`, '-healthz-port=0'];
    const agent = new Agent({
      host: i,
      ns: this.hostNs(i),
      command: this.withPrivateDirs(i, command),
      args: [...(opts.defaultArgs === false ? [] : defaults), ...(opts.args ?? [])],
      env: opts.env,
      subnetFile,
      logFile: join(dir, 'flanneld.log'),
      cwd: dir,
    });
    this.#agents.push(agent);
    return agent;
  }

  #assertLive(): void {
    if (this.#destroyed) throw new HarnessError(`cluster ${this.prefix} is destroyed`);
  }

  /** Stops agents and etcd, deletes this run's namespaces, temp dir and marker. Idempotent. */
  destroy(): Promise<void> {
    this.#destroyed ??= this.#destroy();
    return this.#destroyed;
  }

  async #destroy(): Promise<void> {
    this.#ac.abort(new HarnessError(`cluster ${this.prefix} destroyed`));
    const errors: unknown[] = [];
    const settle = async (p: Promise<unknown>) => p.catch((e: unknown) => errors.push(e));
    await Promise.all(this.#agents.map((a) => settle(a.stop())));
    // What agents left running in their hosts (e.g. wireguard-go, which outlives its agent).
    const hosts = Array.from({ length: this.#hosts }, (_, k) => `${this.prefix}h${k + 1}`);
    await Promise.all(hosts.map((ns) => settle(killNetnsProcesses(ns))));
    if (this.#etcd) await settle(this.#etcd.stop());
    // Whatever tests left running in extra namespaces (a pod's server) goes with them.
    await Promise.all([...this.#extra].map((ns) => settle(killNetnsProcesses(ns))));
    // Hosts and etcd first, the underlay (bridge) last.
    await Promise.all(this.#namespaces.slice(1).map((ns) => settle(deleteNetns(ns))));
    if (this.#namespaces.length > 0) await settle(deleteNetns(this.underlayNs));
    if (!this.#keepTmp) await settle(rm(this.tmpDir, { recursive: true, force: true }));
    await settle(rm(markerPath(this.prefix), { force: true }));
    process.off('exit', this.#onExit);
    this.#outerSignal?.removeEventListener('abort', this.#onOuterAbort);
    if (errors.length > 0) throw new AggregateError(errors, `cluster ${this.prefix}: teardown had ${errors.length} errors`);
  }

  /** Last resort at process exit: kill children, delete namespaces, all synchronously. */
  #destroySync(): void {
    for (const a of this.#agents) a.killSync();
    const hosts = Array.from({ length: this.#hosts }, (_, k) => `${this.prefix}h${k + 1}`);
    for (const ns of [...this.#extra, ...hosts]) spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5000 }).stdout?.split('\n').forEach(killPid);
    // etcd-process.ts kills etcd from its own 'exit' handler.
    for (const ns of [...this.#namespaces].reverse()) {
      spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5000 });
    }
    if (!this.#keepTmp) rmSync(this.tmpDir, { recursive: true, force: true });
    rmSync(markerPath(this.prefix), { force: true });
  }
}
