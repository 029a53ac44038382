/**
 * A TCP proxy between agents and a store (etcd, an API server) that injects the faults of a
 * network that fails quietly. One proxy forwards one listen address to one target; its mode is
 * switched at run time:
 *   pass       forward both ways (connections stalled before get what was held, in order)
 *   drop       close every open connection, and reset (RST) every new one at once
 *   blackhole  accept, never answer: nothing is forwarded either way, on open connections and
 *              new ones alike; a connection blackholed stays dead after `pass` (its client must
 *              give up on it), as one whose path or NAT entry was lost
 *   delay      forward every chunk `delayMs` late (both ways, order kept)
 *   reorder    deliver data on different connections out of the order it was sent in: every
 *              chunk read (either way, on open and new connections alike) is held for its own
 *              random time, uniform in [0, delayMs] (default 1000), but never delivered before
 *              an earlier chunk of the same connection and direction, so the bytes of one
 *              connection keep their order (TCP's promise) and no chunk waits more than delayMs.
 *              Across connections nothing is kept: a request sent later on another connection
 *              (a new connection's first bytes included) overtakes one sent earlier whenever its
 *              draw is the shorter by more than the time between them, and replies likewise
 *              (e.g. a watch event arriving after a later range's reply). Held chunks are still
 *              delivered, at their time, after a switch to `pass`; a chunk read after the switch
 *              waits behind them.
 *   cut        forward half of each reply chunk, then close the connection (a reply cut short)
 *   stall      freeze the open connections (held, not lost), new ones pass: on `pass` the held
 *              data is delivered, after what newer connections carried (replies reordered)
 * A chunk is what one read from a socket returned. Across mode switches the bytes of one
 * connection keep their order each way, and what one end sent before it closed, still held by
 * `delay` or `reorder`, is delivered at its time before the other end is closed.
 *
 * FaultProxy runs in-process (unit tests). startFaultProxy() runs one as a child process
 * (fault-proxy-main.ts) inside a network namespace, controlled over a unix socket with one
 * JSON line per command (`{"mode":"blackhole"}` -> `{"ok":true,...}`).
 */
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { HarnessError } from './errors.js';
import { ManagedProcess } from './managed-process.js';
import { poll } from './poll.js';

export const FAULT_MODES = ['pass', 'drop', 'blackhole', 'delay', 'cut', 'stall', 'reorder'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface FaultSetting {
  readonly mode: FaultMode;
  /** For `delay`: the delay; for `reorder`: the bound of the random hold (default 1000 for both). */
  readonly delayMs?: number;
}

export interface FaultProxyStats {
  readonly mode: FaultMode;
  /** Connections open now. */
  readonly open: number;
  /** Connections accepted since start. */
  readonly accepted: number;
}

export interface Address {
  readonly host: string;
  readonly port: number;
}

/** One direction of one connection: chunks waiting for their time (delay, reorder), in arrival order. */
interface Lane {
  readonly toUpstream: boolean;
  /** Due times never decrease along the queue, so the connection's bytes keep their order. */
  readonly queue: { due: number; chunk: Buffer }[];
  timer: NodeJS.Timeout | undefined;
  /** The lane's source closed: close the connection once the queue is delivered. */
  thenClose: boolean;
}

interface Conn {
  readonly client: Socket;
  upstream: Socket | undefined;
  /** Never forwards again. */
  black: boolean;
  /** Data held while stalled, by direction, in arrival order. */
  held: { toUpstream: boolean; chunk: Buffer }[] | undefined;
  readonly up: Lane;
  readonly down: Lane;
}

export interface FaultProxyOptions {
  /** The draws of `reorder`, in [0, 1) (default Math.random); tests script them. */
  readonly random?: () => number;
}

export class FaultProxy {
  private server: Server | undefined;
  private setting: FaultSetting = { mode: 'pass' };
  private readonly conns = new Set<Conn>();
  private accepted = 0;

  private readonly random: () => number;

  constructor(
    private readonly listen: Address,
    private readonly target: Address,
    options: FaultProxyOptions = {},
  ) {
    this.random = options.random ?? Math.random;
  }

  /** Starts listening; resolves to the port (useful with port 0). */
  async start(): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    server.listen(this.listen.port, this.listen.host);
    await once(server, 'listening');
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new HarnessError('fault proxy: no TCP address');
    return addr.port;
  }

  get stats(): FaultProxyStats {
    return { mode: this.setting.mode, open: this.conns.size, accepted: this.accepted };
  }

  set(setting: FaultSetting): void {
    if (!FAULT_MODES.includes(setting.mode)) throw new HarnessError(`fault proxy: unknown mode ${JSON.stringify(setting.mode)}`);
    const was = this.setting.mode;
    this.setting = setting;
    for (const c of [...this.conns]) {
      if (setting.mode === 'drop') this.close(c);
      else if (setting.mode === 'blackhole') c.black = true;
      else if (setting.mode === 'stall') c.held ??= [];
      else if (setting.mode === 'pass' && was === 'stall') this.release(c);
    }
  }

  async stop(): Promise<void> {
    for (const c of [...this.conns]) this.close(c);
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.accepted++;
    client.on('error', () => {});
    if (this.setting.mode === 'drop') {
      client.resetAndDestroy();
      return;
    }
    const lane = (toUpstream: boolean): Lane => ({ toUpstream, queue: [], timer: undefined, thenClose: false });
    const conn: Conn = { client, upstream: undefined, black: this.setting.mode === 'blackhole', held: undefined, up: lane(true), down: lane(false) };
    this.conns.add(conn);
    client.on('close', () => this.closeAfter(conn, conn.up));
    client.on('data', (chunk: Buffer) => this.forward(conn, chunk, true));
    if (conn.black) return;
    const up = createConnection({ host: this.target.host, port: this.target.port });
    conn.upstream = up;
    up.on('error', () => {});
    up.on('close', () => this.closeAfter(conn, conn.down));
    up.on('data', (chunk: Buffer) => this.forward(conn, chunk, false));
  }

  private forward(c: Conn, chunk: Buffer, toUpstream: boolean): void {
    if (c.black) return;
    if (c.held) {
      c.held.push({ toUpstream, chunk });
      return;
    }
    const { mode, delayMs } = this.setting;
    if (mode === 'cut' && !toUpstream) {
      c.client.write(chunk.subarray(0, Math.max(1, chunk.length >> 1)), () => this.close(c));
      return;
    }
    const hold = mode === 'delay' ? (delayMs ?? 1000) : mode === 'reorder' ? this.random() * (delayMs ?? 1000) : 0;
    this.send(c, chunk, toUpstream, hold);
  }

  /** Writes the chunk after `holdMs`, and never before what the same lane still holds. */
  private send(c: Conn, chunk: Buffer, toUpstream: boolean, holdMs: number): void {
    const lane = toUpstream ? c.up : c.down;
    const last = lane.queue.at(-1);
    if (holdMs <= 0 && last === undefined) {
      this.write(c, chunk, toUpstream);
      return;
    }
    lane.queue.push({ due: Math.max(Date.now() + holdMs, last?.due ?? 0), chunk });
    if (lane.timer === undefined) this.schedule(c, lane);
  }

  /** One timer per lane, for its head: chunks leave in queue order, each at or after its time. */
  private schedule(c: Conn, lane: Lane): void {
    const head = lane.queue[0];
    if (head === undefined) return;
    lane.timer = setTimeout(
      () => {
        lane.timer = undefined;
        const now = Date.now();
        while (lane.queue.length > 0 && lane.queue[0]!.due <= now) this.write(c, lane.queue.shift()!.chunk, lane.toUpstream);
        if (lane.queue.length === 0 && lane.thenClose) this.close(c);
        else this.schedule(c, lane);
      },
      Math.max(0, head.due - Date.now()),
    );
  }

  private write(c: Conn, chunk: Buffer, toUpstream: boolean): void {
    const to = toUpstream ? c.upstream : c.client;
    if (!to || to.destroyed) return;
    // Writes before the upstream connects are queued by the socket itself.
    to.write(chunk);
  }

  /** One end closed: what it sent before (still held in `lane`) is delivered first. */
  private closeAfter(c: Conn, lane: Lane): void {
    if (lane.queue.length === 0) this.close(c);
    else lane.thenClose = true;
  }

  private release(c: Conn): void {
    const held = c.held ?? [];
    c.held = undefined;
    for (const h of held) this.send(c, h.chunk, h.toUpstream, 0);
  }

  /**
   * Closes both ends. (Not resetAndDestroy() on an open connection: on Node 24 that left the
   * process spinning on a socket that never finished closing.)
   */
  private close(c: Conn): void {
    if (!this.conns.delete(c)) return;
    for (const lane of [c.up, c.down]) {
      clearTimeout(lane.timer);
      lane.queue.length = 0;
    }
    c.client.destroy();
    c.upstream?.destroy();
  }
}

/** Serves a FaultProxy's control channel: one JSON line per command, one JSON line back. */
export async function serveControl(proxy: FaultProxy, path: string): Promise<Server> {
  rmSync(path, { force: true });
  const server = createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => {});
    sock.on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let reply: unknown;
        try {
          const cmd = JSON.parse(line) as Partial<FaultSetting> & { stats?: boolean };
          if (cmd.mode !== undefined) proxy.set({ mode: cmd.mode, delayMs: cmd.delayMs });
          reply = { ok: true, ...proxy.stats };
        } catch (err) {
          reply = { ok: false, error: String(err) };
        }
        sock.write(JSON.stringify(reply) + '\n');
      }
    });
  });
  server.listen(path);
  await once(server, 'listening');
  return server;
}

/** A proxy running as a child process (in a network namespace), driven over its control socket. */
export interface RunningFaultProxy {
  /** e.g. http://192.168.77.2:23791 */
  readonly url: string;
  readonly logFile: string;
  set(setting: FaultSetting): Promise<FaultProxyStats>;
  stats(): Promise<FaultProxyStats>;
  stop(): Promise<void>;
}

const MAIN = fileURLToPath(new URL('./fault-proxy-main.js', import.meta.url));

export async function startFaultProxy(opts: {
  netns?: string;
  listen: Address;
  target: Address;
  /** Control socket path and log file prefix (unique per proxy). */
  controlPath: string;
  logFile: string;
  signal?: AbortSignal;
}): Promise<RunningFaultProxy> {
  const node = [process.execPath, MAIN, `${opts.listen.host}:${opts.listen.port}`, `${opts.target.host}:${opts.target.port}`, opts.controlPath];
  const argv = opts.netns === undefined ? node : ['ip', 'netns', 'exec', opts.netns, ...node];
  rmSync(opts.controlPath, { force: true });
  const proc = new ManagedProcess({ argv, logFile: opts.logFile });
  const onExit = () => proc.signal('SIGKILL');
  process.once('exit', onExit);
  const send = (cmd: object) => control(opts.controlPath, cmd);
  try {
    await poll(
      async () => {
        if (!proc.running) throw new HarnessError(`fault proxy exited during start-up; see ${opts.logFile}`);
        return send({ stats: true }).then(
          () => true,
          () => false,
        );
      },
      { what: `fault proxy ${opts.listen.host}:${opts.listen.port}`, timeoutMs: 10_000, intervalMs: 50, signal: opts.signal },
    );
  } catch (err) {
    await proc.kill();
    throw err;
  }
  return {
    url: `http://${opts.listen.host}:${opts.listen.port}`,
    logFile: opts.logFile,
    set: (s) => send(s),
    stats: () => send({ stats: true }),
    stop: async () => {
      process.removeListener('exit', onExit);
      await proc.stop('SIGTERM', 2000);
    },
  };
}

/** One command over the control socket, bounded to 3 s. */
function control(path: string, cmd: object): Promise<FaultProxyStats> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => sock.destroy(new HarnessError(`fault proxy control ${path}: no answer within 3 s`)), 3000);
    sock.setEncoding('utf8');
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('data', (d: string) => {
      buf += d;
      if (!buf.includes('\n')) return;
      clearTimeout(timer);
      sock.end();
      const reply = JSON.parse(buf.slice(0, buf.indexOf('\n'))) as FaultProxyStats & { ok: boolean; error?: string };
      if (reply.ok) resolve(reply);
      else reject(new HarnessError(`fault proxy control: ${reply.error ?? 'refused'}`));
    });
    sock.write(JSON.stringify(cmd) + '\n');
  });
}
