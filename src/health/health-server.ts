import type { Server } from 'node:http';
import type { Logger } from '../log/logger.js';
import type { MetricsExposition } from '../metrics/prom-metrics.js';

/** Readiness as the daemon reports it: ready once the lease is held and subnet.env written. */
export interface ReadinessState {
  ready(): boolean;
  /** Why it is not ready, for the 503 body. */
  reason(): string;
}

/** Serves /healthz (alive), /readyz (200 when ready, else 503) and, given metrics, /metrics and /status (JSON) on ip:port. */
export async function startHealthServer(opts: {
  ip: string;
  port: number;
  state: ReadinessState;
  logger: Logger;
  metrics?: MetricsExposition;
}): Promise<Server> {
  const { createServer } = process.getBuiltinModule('node:http');
  const metrics = opts.metrics;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('flanneld is running\n');
    } else if (path === '/readyz') {
      if (opts.state.ready()) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      else res.writeHead(503, { 'content-type': 'text/plain' }).end(`not ready: ${opts.state.reason()}\n`);
    } else if (path === '/status' && metrics?.status) {
      const body = { ready: opts.state.ready(), reason: opts.state.ready() ? null : opts.state.reason(), ...metrics.status() };
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
    } else if (path === '/metrics' && metrics) {
      metrics.render().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.ip, () => resolve());
  });
  opts.logger.info(`serving /healthz, /readyz${opts.metrics ? ', /metrics and /status' : ''} on ${opts.ip}:${opts.port}`);
  return server;
}
