import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A cloud API stand-in (EC2 + its instance metadata service, GCE + its metadata server, Tencent
 * Cloud API 3.0 + its metadata service): speaks the provider's wire protocol for the calls
 * flannel-ts makes, so the real SDK can be driven against it. One module per cloud
 * (`<cloud>-standin.ts`) exports a StandinFactory; tests run it in-process on 127.0.0.1, and the
 * multi-host tests run it inside a test namespace through standin-host.ts.
 */
export interface StandinApp {
  /** Serves the provider's API and metadata service as the provider does (one listener for all). */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /**
   * Test control, JSON over HTTP on a separate listener: `GET /state` (the tables and their
   * routes), and fault injection such as `POST /fault` (throttle, 5xx, outage for N ms, table
   * full) or `POST /routes/delete` (a route deleted by hand). Each stand-in documents its own.
   */
  control(req: IncomingMessage, res: ServerResponse): void;
}

/** Options come as strings (from the command line of standin-host.ts or a test). */
export type StandinFactory = (options: Readonly<Record<string, string>>) => StandinApp;
