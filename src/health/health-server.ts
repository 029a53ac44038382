import type { Server } from 'node:http';
import type { Logger } from '../log/logger.js';

/** Readiness as the daemon reports it: ready once the lease is held and subnet.env written. */
export interface ReadinessState {
  ready(): boolean;
  /** Why it is not ready, for the 503 body. */
  reason(): string;
}

/** Serves /healthz (alive) and /readyz (200 when ready, else 503) on ip:port. */
export async function startHealthServer(opts: {
  ip: string;
  port: number;
  state: ReadinessState;
  logger: Logger;
}): Promise<Server> {
  const { createServer } = process.getBuiltinModule('node:http');
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('flanneld is running\n');
    } else if (path === '/readyz') {
      if (opts.state.ready()) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      else res.writeHead(503, { 'content-type': 'text/plain' }).end(`not ready: ${opts.state.reason()}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.ip, () => resolve());
  });
  opts.logger.info(`serving /healthz and /readyz on ${opts.ip}:${opts.port}`);
  return server;
}
