/**
 * A read-only view of another network namespace (a pod's): its links, addresses and routes,
 * read over rtnetlink from inside that namespace. Node cannot setns(2) a thread, and a netlink
 * socket belongs to the namespace it was opened in, so the reading is done by a short-lived
 * child: `nsenter --net=<path> -- node netns-probe.js`, which opens an rtnetlink socket there
 * (through this kernel layer, like everything else) and prints the snapshot as JSON.
 * Equivalent to: `nsenter --net=$NETNS ip -j link; ip -j addr; ip -j route show table all`.
 */
import { isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';
import { KernelError, ToolError } from '../errors.js';
import { runTool, type ToolRunner } from './exec-tool.js';
import type { KernelOps } from './kernel-ops.js';

export interface SnapshotLink {
  readonly index: number;
  readonly name: string;
  readonly up: boolean;
  readonly mtu: number;
  readonly hardwareAddr?: string;
  readonly kind?: string;
}

export interface SnapshotAddress {
  readonly linkIndex: number;
  /** The address without its length: "10.244.1.2", "fd00::2". */
  readonly ip: string;
  readonly prefixLength: number;
}

export interface SnapshotRoute {
  /** "10.244.0.0/16", "0.0.0.0/0". */
  readonly dst: string;
  readonly gateway?: string;
  readonly linkIndex?: number;
  readonly table: number;
}

export interface NetnsSnapshot {
  readonly links: readonly SnapshotLink[];
  readonly addresses: readonly SnapshotAddress[];
  /** Routes of every table. */
  readonly routes: readonly SnapshotRoute[];
}

/** The probe script next to this module (dist/src/kernel/netns-probe.js). */
export const PROBE_SCRIPT = fileURLToPath(new URL('./netns-probe.js', import.meta.url));

/** The argument that makes a packaged executable run the probe instead of its own job. */
export const PROBE_ARG = '--netns-probe';

/**
 * How to start the probe: the probe script on this node, or, in a packaged executable (which
 * has no script files), the executable itself with PROBE_ARG.
 */
export function probeCommand(packaged = isSea()): string[] {
  return packaged ? [process.execPath, PROBE_ARG] : [process.execPath, PROBE_SCRIPT];
}

/**
 * The probe's whole job, in the namespace it was started in: print the snapshot as one JSON
 * line; exit status 1 with the error on stderr when the kernel cannot be read.
 */
export async function netnsProbeMain(io: { stdout: (text: string) => void; stderr: (text: string) => void }): Promise<number> {
  const { NetlinkKernel } = await import('./kernel-ops.js');
  const kernel = new NetlinkKernel();
  try {
    const snap = await snapshotOwnNetns(kernel, AbortSignal.timeout(5000));
    io.stdout(JSON.stringify(snap) + '\n');
    return 0;
  } catch (err) {
    io.stderr(`netns-probe: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    kernel.close();
  }
}

/** Reads the snapshot of the calling process's own namespace through `kernel`. */
export async function snapshotOwnNetns(kernel: Pick<KernelOps, 'listLinks' | 'listAddresses' | 'listRoutes'>, signal?: AbortSignal): Promise<NetnsSnapshot> {
  const opts = { signal, timeoutMs: 5000 };
  const [links, addresses, routes] = [await kernel.listLinks(opts), await kernel.listAddresses({}, opts), await kernel.listRoutes({ table: 0 }, opts)];
  return {
    links: links.map((l) => ({
      index: l.index,
      name: l.name,
      up: l.up,
      mtu: l.mtu,
      ...(l.hardwareAddr !== undefined ? { hardwareAddr: l.hardwareAddr } : {}),
      ...(l.kind !== undefined ? { kind: l.kind } : {}),
    })),
    addresses: addresses.map((a) => ({ linkIndex: a.linkIndex, ip: a.ip.toString(), prefixLength: a.prefixLength })),
    routes: routes.map((r) => ({
      dst: r.dst.toString(),
      ...(r.gateway !== undefined ? { gateway: r.gateway.toString() } : {}),
      ...(r.linkIndex !== undefined ? { linkIndex: r.linkIndex } : {}),
      table: r.table ?? 254,
    })),
  };
}

export interface ReadNetnsOptions {
  readonly signal?: AbortSignal;
  /** Default 10 s. */
  readonly timeoutMs?: number;
  /** Tests replace the spawner. */
  readonly runTool?: ToolRunner;
}

/**
 * The snapshot of the namespace at `netnsPath` (e.g. /run/netns/pod1 or /proc/<pid>/ns/net).
 * Throws KernelError (ERR_NETNS) when the namespace cannot be entered or read.
 */
export async function readNetnsSnapshot(netnsPath: string, opts: ReadNetnsOptions = {}): Promise<NetnsSnapshot> {
  const argv = ['nsenter', `--net=${netnsPath}`, '--', ...probeCommand()];
  let stdout: string;
  try {
    ({ stdout } = await (opts.runTool ?? runTool)(argv, { signal: opts.signal, timeoutMs: opts.timeoutMs ?? 10_000 }));
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    const why = err instanceof ToolError ? err.stderr || err.message : String(err);
    throw new KernelError('read network namespace', netnsPath, 0, 'ENTER_FAILED', { code: 'ERR_NETNS', detail: why, cause: err });
  }
  try {
    const snap = JSON.parse(stdout) as NetnsSnapshot;
    if (!Array.isArray(snap.links) || !Array.isArray(snap.addresses) || !Array.isArray(snap.routes)) throw new TypeError('missing links, addresses or routes');
    return snap;
  } catch (err) {
    throw new KernelError('read network namespace', netnsPath, 0, 'BAD_PROBE_OUTPUT', { code: 'ERR_NETNS', detail: (err as Error).message, cause: err });
  }
}
