/**
 * A few lines of etcd's JSON gateway over HTTP/1.1 on 127.0.0.1, enough for the watch's probe
 * and failover tests: POST /v3/watch answers "created" and then whatever the test pushes;
 * POST /v3/kv/range answers an empty listing at `revision` (or nothing at all when `silent`).
 * Each request's path and JSON body is recorded.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';

export interface GatewayRequest {
  readonly path: string;
  readonly body: Record<string, unknown>;
}

export class FakeEtcdGateway {
  readonly requests: GatewayRequest[] = [];
  revision = 5;
  /** Accepts and reads requests but never answers (a hung member). */
  silent = false;
  private server: Server | undefined;
  private readonly watches = new Set<Socket>();
  private readonly sockets = new Set<Socket>();
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const server = createServer((s) => this.serve(s));
    this.server = server;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const addr = server.address();
    this.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    return this;
  }

  /** Sends one watch response to every open watch. */
  push(result: object): void {
    for (const s of this.watches) chunk(s, JSON.stringify({ result }) + '\n');
  }

  watchRequests(): GatewayRequest[] {
    return this.requests.filter((r) => r.path === '/v3/watch');
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private serve(sock: Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => {
      this.sockets.delete(sock);
      this.watches.delete(sock);
    });
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      // Bounded: one request per pass; a partial request waits for more data.
      for (let i = 0; i < 100; i++) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const len = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        const body = JSON.parse(buf.subarray(end + 4, end + 4 + len).toString('utf8') || '{}') as Record<string, unknown>;
        buf = buf.subarray(end + 4 + len);
        const path = head.split(' ')[1] ?? '';
        this.requests.push({ path, body });
        if (!this.silent) this.answer(sock, path);
      }
    });
  }

  private answer(sock: Socket, path: string): void {
    const header = { cluster_id: '1', member_id: String(this.port), revision: String(this.revision), raft_term: '2' };
    if (path === '/v3/watch') {
      sock.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
      this.watches.add(sock);
      chunk(sock, JSON.stringify({ result: { header, created: true } }) + '\n');
      return;
    }
    const reply = JSON.stringify({ header, count: '0' });
    sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(reply)}\r\n\r\n${reply}`);
  }
}

function chunk(sock: Socket, text: string): void {
  sock.write(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`);
}
