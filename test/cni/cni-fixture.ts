/**
 * Real-plugin tests of bin/flannel with Debian's `bridge` and `host-local` (/usr/lib/cni).
 * Every test gets namespaces of its own under this run's prefix `ftc-<4 hex>-`: a "host"
 * (the bridge plugin creates cni0 and the host end of the veth in the namespace of the process
 * that runs it, so the plugin always runs under `ip netns exec <host>`, never in the root
 * namespace) and "pods" (CNI_NETNS=/run/netns/<pod>). subnet.env, the plugin's dataDir and
 * host-local's dataDir live in a temp dir. A marker /run/flannel-ts-test/<prefix>.pid lets a
 * later run delete what a crashed run left (stale namespaces are cleaned at start).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunResult } from '../support/command.js';
import { HarnessError } from '../support/errors.js';
import { commandFile, flannelCniCommand } from '../support/implementation.js';
import { MARKER_DIR, cleanStaleNetns, createNetns, deleteNetns, markerPath, processStartTime, runIn } from '../support/netns.js';

export const PREFIX_ROOT = 'ftc-';
export const CNI_BIN_DIR = '/usr/lib/cni';
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** bin/flannel, or the packaged executable run with no node reachable (FLANNEL_TS_PACKAGED). */
export const FLANNEL_CMD = flannelCniCommand();
export const FLANNEL_BIN = commandFile(FLANNEL_CMD);

/** Why the real-plugin tests cannot run here, or false. */
export function cniSkipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!existsSync(join(CNI_BIN_DIR, 'bridge')) || !existsSync(join(CNI_BIN_DIR, 'host-local'))) return `needs bridge and host-local in ${CNI_BIN_DIR}`;
  if (!existsSync(FLANNEL_BIN)) return `${FLANNEL_BIN} missing`;
  return false;
}

export const SUBNET_ENV_V4 = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';
export const SUBNET_ENV_V6 = 'FLANNEL_IPV6_NETWORK=fc00:5::/48\nFLANNEL_IPV6_SUBNET=fc00:5:0:7::1/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=true\n';
export const SUBNET_ENV_DUAL = `${SUBNET_ENV_V4.replace('FLANNEL_MTU=1450', 'FLANNEL_MTU=1430')}FLANNEL_IPV6_NETWORK=fc00:5::/48\nFLANNEL_IPV6_SUBNET=fc00:5:0:7::1/64\n`;

export interface PluginRun extends RunResult {
  /** stdout parsed, when it is JSON. */
  readonly doc: Record<string, unknown> | undefined;
}

export interface InvokeOptions {
  readonly containerId: string;
  /** The pod namespace (name under /run/netns); '' for none. */
  readonly pod: string;
  readonly ifName?: string;
  readonly env?: Record<string, string>;
  /** The plugin's command line (default FLANNEL_CMD), e.g. another build to compare. */
  readonly command?: readonly string[];
}

/** One run's prefix, temp dir and namespaces. */
export class CniRun {
  readonly #namespaces: string[] = [];
  #seq = 0;

  private constructor(
    readonly prefix: string,
    readonly tmpDir: string,
  ) {}

  static async create(): Promise<CniRun> {
    await cleanStaleNetns(PREFIX_ROOT);
    await mkdir(MARKER_DIR, { recursive: true });
    for (let attempt = 0; attempt < 20; attempt++) {
      const prefix = `${PREFIX_ROOT}${randomBytes(2).toString('hex')}-`;
      const tmp = await mkdtemp(join(tmpdir(), prefix));
      const marker = { pid: process.pid, startTime: processStartTime(process.pid), tmpDir: tmp };
      try {
        await writeFile(markerPath(prefix), JSON.stringify(marker) + '\n', { flag: 'wx' });
        return new CniRun(prefix, tmp);
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    throw new HarnessError(`no free run prefix after 20 attempts (markers in ${MARKER_DIR})`);
  }

  /** A fresh host with one or more pods, and a fresh dir for its files. */
  async scenario(pods = 1): Promise<Scenario> {
    const n = ++this.#seq;
    const host = `${this.prefix}h${n}`;
    const podNames = Array.from({ length: pods }, (_, i) => `${this.prefix}p${n}-${i + 1}`);
    for (const ns of [host, ...podNames]) {
      this.#namespaces.push(ns);
      await createNetns(ns);
    }
    const dir = join(this.tmpDir, `s${n}`);
    await mkdir(dir, { recursive: true });
    return new Scenario(host, podNames, dir);
  }

  async destroy(): Promise<void> {
    for (const ns of this.#namespaces.reverse()) await deleteNetns(ns).catch(() => undefined);
    await rm(this.tmpDir, { recursive: true, force: true });
    await rm(markerPath(this.prefix), { force: true });
  }
}

export class Scenario {
  constructor(
    readonly host: string,
    readonly pods: readonly string[],
    readonly dir: string,
  ) {}

  get subnetFile(): string {
    return join(this.dir, 'subnet.env');
  }
  get dataDir(): string {
    return join(this.dir, 'flannel');
  }
  get ipamDir(): string {
    return join(this.dir, 'ipam');
  }

  pod(i = 0): string {
    const p = this.pods[i];
    if (p === undefined) throw new HarnessError(`scenario has no pod ${i}`);
    return p;
  }

  async writeSubnetEnv(text: string): Promise<void> {
    await writeFile(this.subnetFile, text);
  }

  /** The plugin's config: subnet.env, dataDir and host-local's dataDir in this scenario's dir. */
  conf(extra: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      cniVersion: '1.0.0',
      name: 'cbr0',
      type: 'flannel',
      subnetFile: this.subnetFile,
      dataDir: this.dataDir,
      ipam: { dataDir: this.ipamDir, ...ipam },
      ...extra,
    };
  }

  /** Runs the plugin inside the host namespace; `conf` is sent as JSON, or as is when a string. */
  async invoke(command: string, conf: unknown, opts: InvokeOptions): Promise<PluginRun> {
    const env: Record<string, string> = {
      CNI_COMMAND: command,
      CNI_CONTAINERID: opts.containerId,
      CNI_NETNS: opts.pod === '' ? '' : `/run/netns/${opts.pod}`,
      CNI_IFNAME: opts.ifName ?? 'eth0',
      CNI_PATH: CNI_BIN_DIR,
      ...opts.env,
    };
    const res = await runIn(this.host, opts.command ?? FLANNEL_CMD, { env, input: typeof conf === 'string' ? conf : JSON.stringify(conf), allowFailure: true, timeoutMs: 30_000 });
    let doc: Record<string, unknown> | undefined;
    try {
      doc = res.stdout.trim() ? (JSON.parse(res.stdout) as Record<string, unknown>) : undefined;
    } catch {
      doc = undefined;
    }
    return { ...res, doc };
  }

  /** `ip -j <args>` inside namespace `ns`, parsed. */
  async ipJson<T>(ns: string, args: readonly string[]): Promise<T> {
    const { stdout } = await run(['ip', '-j', '-n', ns, ...args]);
    return JSON.parse(stdout || '[]') as T;
  }

  /** Runs argv inside namespace `ns`. */
  exec(ns: string, argv: readonly string[]): Promise<RunResult> {
    return runIn(ns, argv, { timeoutMs: 15_000 });
  }
}

export interface IpAddrInfo {
  ifname: string;
  mtu: number;
  operstate: string;
  addr_info: { family: string; local: string; prefixlen: number; scope: string }[];
}

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
}
