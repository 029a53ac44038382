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
 *   cut        forward half of each reply chunk, then close the connection (a reply cut short)
 *   stall      freeze the open connections (held, not lost), new ones pass: on `pass` the held
 *              data is delivered, after what newer connections carried (replies reordered)
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

export const FAULT_MODES = ['pass', 'drop', 'blackhole', 'delay', 'cut', 'stall'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface FaultSetting {
  readonly mode: FaultMode;
  /** For `delay` (default 1000). */
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

interface Conn {
  readonly client: Socket;
  upstream: Socket | undefined;
  /** Never forwards again. */
  black: boolean;
  /** Data held while stalled, by direction, in arrival order. */
  held: { toUpstream: boolean; chunk: Buffer }[] | undefined;
  /** Delayed writes: the time each direction's last one is due, so order is kept. */
  due: { up: number; down: number };
}

export class FaultProxy {
  private server: Server | undefined;
  private setting: FaultSetting = { mode: 'pass' };
  private readonly conns = new Set<Conn>();
  private accepted = 0;

  constructor(
    private readonly listen: Address,
    private readonly target: Address,
  ) {}

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
    const conn: Conn = { client, upstream: undefined, black: this.setting.mode === 'blackhole', held: undefined, due: { up: 0, down: 0 } };
    this.conns.add(conn);
    client.on('close', () => this.close(conn));
    client.on('data', (chunk: Buffer) => this.forward(conn, chunk, true));
    if (conn.black) return;
    const up = createConnection({ host: this.target.host, port: this.target.port });
    conn.upstream = up;
    up.on('error', () => {});
    up.on('close', () => this.close(conn));
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
    if (mode === 'delay') {
      const key = toUpstream ? 'up' : 'down';
      const due = Math.max(Date.now() + (delayMs ?? 1000), c.due[key]);
      c.due[key] = due;
      setTimeout(() => this.write(c, chunk, toUpstream), due - Date.now());
      return;
    }
    this.write(c, chunk, toUpstream);
  }

  private write(c: Conn, chunk: Buffer, toUpstream: boolean): void {
    const to = toUpstream ? c.upstream : c.client;
    if (!to || to.destroyed) return;
    // Writes before the upstream connects are queued by the socket itself.
    to.write(chunk);
  }

  private release(c: Conn): void {
    const held = c.held ?? [];
    c.held = undefined;
    for (const h of held) this.write(c, h.chunk, h.toUpstream);
  }

  /**
   * Closes both ends. (Not resetAndDestroy() on an open connection: on Node 24 that left the
   * process spinning on a socket that never finished closing.)
   */
  private close(c: Conn): void {
    if (!this.conns.delete(c)) return;
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
