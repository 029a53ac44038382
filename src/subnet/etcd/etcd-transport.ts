/**
 * HTTP/1.1 transport to etcd's JSON gRPC-gateway: keep-alive agents, per-request timeout,
 * AbortSignal, failover across endpoints, the auth token, and the one place where transport
 * failures and etcd error bodies become StoreErrors:
 *   ERR_ETCD_UNAVAILABLE  no connection, reset, timeout, HTTP 5xx, gRPC Unavailable (retryable)
 *   ERR_ETCD_AUTH         bad credentials, rejected token or certificate, permission denied
 *   ERR_ETCD_REQUEST      any other error etcd answers with (its message is included)
 */
import { setMaxListeners } from 'node:events';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { StoreError, errorMessage } from '../../errors.js';
import { Http1Pool, type Http1Reply, type Http1Request, type Http1Target } from './http1-client.js';
import { parseEndpoint, loadTls, type EtcdEndpoint } from './etcd-endpoint.js';
import type { EtcdClientOptions } from './etcd-types.js';
import { parseReply, readBody, transportError } from './etcd-reply.js';
import type { WireError } from './etcd-wire.js';

export interface EtcdTransportOptions extends EtcdClientOptions {
  /** Called before every HTTP request (tests count requests with it). */
  readonly onRequest?: ((info: { endpoint: string; path: string }) => void) | undefined;
}

export interface CallOptions {
  readonly signal?: AbortSignal | undefined;
  /** False for calls that must not be sent twice (txn, lease grant): they fail over only when unsent. */
  readonly idempotent: boolean;
  /** The reply is a streaming-RPC reply (`{"result": ...}`), e.g. /v3/lease/keepalive. */
  readonly streamed?: boolean;
  /** Turns an etcd error (gRPC code) into a specific error, or undefined for the default. */
  readonly mapError?: (grpcCode: number, endpoint: string) => Error | undefined;
  /**
   * Reads a 200 reply's body itself, as it arrives, instead of buffering and parsing it whole
   * (a large range page); what it resolves to is the reply. A failure while reading fails the
   * attempt like a cut-off reply (failover for idempotent calls); a StoreError it throws is final.
   */
  readonly consume?: (res: Http1Reply, endpoint: string) => Promise<unknown>;
}

export interface OpenStream {
  readonly endpoint: string;
  readonly res: Http1Reply;
  /** Stops the request timeout (call once the stream is established). */
  clearTimer(): void;
  /** Destroys the request (the reply fails with `err` when given); safe to call more than once. */
  release(err?: Error): void;
}

export interface SendState {
  sent: boolean;
  timedOut: boolean;
  /** The request went out on a pooled keep-alive socket. */
  reused?: boolean;
  responded?: boolean;
}

interface Sent {
  readonly req: Http1Request;
  readonly res: Http1Reply;
  readonly state: SendState;
  clearTimer(): void;
  release(err?: Error): void;
}

type Outcome =
  | { ok: true; endpoint: string; body: unknown; stream: Sent | undefined }
  | { ok: false; error: Error; failover: boolean; tokenRejected: boolean; staleSocket?: boolean };

const AUTH_PATH = '/v3/auth/authenticate';
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAVAILABLE = 14;
const GRPC_UNAUTHENTICATED = 16;
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
export const DEFAULT_WATCH_PROBE_INTERVAL_MS = 2_000;
export const DEFAULT_WATCH_PROBE_TIMEOUT_MS = 3_000;

export class EtcdTransport {
  readonly endpoints: readonly EtcdEndpoint[];
  private current = 0;
  /** Keep-alive connections (HTTP/1.1 on node:net; TLS loads only when an endpoint uses it). */
  private readonly pool = new Http1Pool();
  private readonly targets: ReadonlyMap<EtcdEndpoint, Http1Target>;
  private readonly timeoutMs: number;
  /** Per endpoint, the interval of etcd's watch progress notifications, once learned (etcd-watch.ts). */
  readonly progressCadence = new Map<string, number>();
  /** How an open watch checks that its endpoint still answers (etcd-watch.ts). */
  readonly watchProbe: { readonly intervalMs: number; readonly timeoutMs: number };
  private readonly closed = new AbortController();
  private token: Promise<string> | undefined;

  constructor(private readonly opts: EtcdTransportOptions) {
    if (opts.endpoints.length === 0) throw new StoreError('ERR_ETCD_REQUEST', '(none)', 'no etcd endpoints configured', { retryable: false });
    this.endpoints = opts.endpoints.map(parseEndpoint);
    const tls = loadTls(opts);
    // Every request in flight listens for close(); callers may run many at once (bulk writes).
    setMaxListeners(0, this.closed.signal);
    this.timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.watchProbe = {
      intervalMs: opts.watchProbeIntervalMs ?? DEFAULT_WATCH_PROBE_INTERVAL_MS,
      timeoutMs: opts.watchProbeTimeoutMs ?? DEFAULT_WATCH_PROBE_TIMEOUT_MS,
    };
    this.targets = new Map(
      this.endpoints.map((ep) => {
        const secure: ConnectionOptions | undefined = ep.tls
          ? { ca: tls.ca, cert: tls.cert, key: tls.key, servername: isIP(ep.host) === 0 ? ep.host : undefined }
          : undefined;
        return [ep, { key: ep.url, host: ep.host, port: ep.port, socketPath: ep.socketPath, tls: secure }];
      }),
    );
  }

  get hasCredentials(): boolean {
    return this.opts.username !== undefined && this.opts.username !== '';
  }

  /** Aborts when the transport is closed; streams combine it with the caller's signal. */
  get closedSignal(): AbortSignal {
    return this.closed.signal;
  }

  close(): void {
    this.closed.abort();
    this.pool.destroy();
  }

  /** One request/response call; returns the parsed reply and the endpoint that answered. */
  async unary<T>(path: string, body: unknown, opts: CallOptions): Promise<{ body: T; endpoint: string }> {
    const r = await this.call(path, body, opts, false);
    return { body: r.body as T, endpoint: r.endpoint };
  }

  /** Opens a streaming call (watch): resolves once the response headers say 200. */
  async stream(path: string, body: unknown, signal: AbortSignal): Promise<OpenStream> {
    const r = await this.call(path, body, { signal, idempotent: true }, true);
    const s = r.stream!;
    return { endpoint: r.endpoint, res: s.res, clearTimer: s.clearTimer, release: s.release };
  }

  /**
   * One request to one endpoint, no failover, with its own deadline: whether that endpoint
   * answers at all (any HTTP reply counts). Rejects with a retryable StoreError when it does not.
   */
  async probe(endpoint: string, path: string, body: unknown, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const ep = this.endpoints.find((e) => e.url === endpoint);
    if (ep === undefined) throw new StoreError('ERR_ETCD_REQUEST', endpoint, 'not a configured etcd endpoint', { retryable: false });
    const pending = this.hasCredentials ? this.authToken() : undefined;
    const token = pending === undefined ? undefined : await abortable(pending, signal);
    const state: SendState = { sent: false, timedOut: false };
    let sent: Sent | undefined;
    try {
      sent = await this.send(ep, path, JSON.stringify(body), token, signal, state, timeoutMs);
      await readBody(sent.res);
    } catch (err) {
      signal.throwIfAborted();
      if (err instanceof StoreError) throw err;
      throw transportError(err, ep.url, path, state, timeoutMs);
    } finally {
      sent?.release();
    }
  }

  /**
   * Records the cadence of an endpoint's watch progress notifications (etcd-watch.ts), and says
   * so the first time: until then a stalled watch stream on that endpoint cannot be told from a
   * quiet one (etcd's default cadence, 10 minutes, makes that detection take half an hour).
   */
  noteProgressCadence(endpoint: string, ms: number): void {
    const had = this.progressCadence.has(endpoint);
    this.progressCadence.set(endpoint, ms);
    if (!had) this.opts.logger?.info(`etcd endpoint ${endpoint} sends watch progress notifications every ~${ms} ms: a watch stream silent for ${this.watchSilenceMs(ms)} ms is given up`);
  }

  /** How long a watch stream may be silent, given its endpoint's progress cadence: three notifications, at least the probe deadline. */
  watchSilenceMs(cadenceMs: number): number {
    return Math.max(3 * cadenceMs, this.watchProbe.timeoutMs);
  }

  /** Moves later calls off an endpoint found silent, when it is the one calls start with. */
  avoid(endpoint: string, reason: string): void {
    const n = this.endpoints.length;
    if (n < 2 || this.endpoints[this.current]?.url !== endpoint) return;
    this.current = (this.current + 1) % n;
    this.opts.logger?.warn(`etcd endpoint ${endpoint} is not answering (${reason}); switching to ${this.endpoints[this.current]!.url}`);
  }

  /** Forgets a token the server rejected (a watch was cancelled as unauthenticated). */
  async renewToken(signal: AbortSignal | undefined): Promise<void> {
    this.token = undefined;
    if (this.hasCredentials) await abortable(this.authToken(), signal);
  }

  /** Turns an error object a stream sent (`{"error": {...}}`) into a StoreError. */
  streamError(err: WireError, endpoint: string, path: string): StoreError {
    return this.etcdError(err.http_code ?? 500, err, endpoint, path).error as StoreError;
  }

  private async call(path: string, body: unknown, opts: CallOptions, stream: boolean): Promise<Outcome & { ok: true }> {
    const m = this.opts.metrics;
    if (!m) return this.callOnce(path, body, opts, stream);
    try {
      const r = await this.callOnce(path, body, opts, stream);
      m.storeRequest('etcd', 'ok');
      return r;
    } catch (err) {
      m.storeRequest('etcd', 'error');
      throw err;
    }
  }

  private async callOnce(path: string, body: unknown, opts: CallOptions, stream: boolean): Promise<Outcome & { ok: true }> {
    const payload = JSON.stringify(body);
    // Bounded: at most two rounds, the second after re-authenticating once.
    for (let round = 0; ; round++) {
      const pending = this.hasCredentials ? this.authToken() : undefined;
      const token = pending === undefined ? undefined : await abortable(pending, opts.signal);
      const r = await this.withFailover(path, payload, token, opts, stream);
      if (r.ok) return r;
      if (r.tokenRejected && round === 0) {
        if (this.token === pending) this.token = undefined;
        continue;
      }
      throw r.error;
    }
  }

  /** The token, shared by concurrent callers; authenticates when there is none. */
  private authToken(): Promise<string> {
    if (this.token === undefined) {
      const body = JSON.stringify({ name: this.opts.username ?? '', password: this.opts.password ?? '' });
      const p = this.withFailover(AUTH_PATH, body, undefined, { idempotent: true }, false).then((r) => {
        if (!r.ok) throw r.error;
        const token = (r.body as { token?: string }).token;
        if (token === undefined || token === '') throw new StoreError('ERR_ETCD_AUTH', r.endpoint, 'authenticate returned no token', { retryable: false });
        return token;
      });
      this.token = p;
      p.catch(() => {
        if (this.token === p) this.token = undefined;
      });
    }
    return this.token;
  }

  private async withFailover(path: string, payload: string, token: string | undefined, opts: CallOptions, stream: boolean): Promise<Outcome> {
    const n = this.endpoints.length;
    const failures: Error[] = [];
    for (let k = 0; k < n; k++) {
      const idx = (this.current + k) % n;
      const ep = this.endpoints[idx]!;
      let r = await this.attempt(ep, path, payload, token, opts, stream);
      // A pooled socket the server had closed (etcd restarted): once more on a fresh one.
      const retried = !r.ok && r.staleSocket === true;
      if (retried) r = await this.attempt(ep, path, payload, token, opts, stream);
      if (r.ok) {
        // Answered on a fresh connection after a failure: another endpoint, or a stale socket.
        if (k > 0 || retried) this.opts.metrics?.storeReconnect('etcd');
        if (k > 0 && idx !== this.current) {
          this.opts.logger?.warn(`etcd endpoint ${this.endpoints[this.current]!.url} failed (${errorMessage(failures[0])}); switched to ${ep.url}`);
        }
        this.current = idx;
        return r;
      }
      if (!r.failover || r.tokenRejected) return r;
      failures.push(r.error);
    }
    const last = failures[failures.length - 1] as StoreError;
    if (failures.length === 1) return { ok: false, error: last, failover: false, tokenRejected: false };
    const all = failures.map((e) => e.message).join('; ');
    const error = new StoreError(last.code, last.endpoint, `all ${n} etcd endpoints failed: ${all}`, { retryable: last.retryable, cause: last });
    return { ok: false, error, failover: false, tokenRejected: false };
  }

  private async attempt(ep: EtcdEndpoint, path: string, payload: string, token: string | undefined, opts: CallOptions, stream: boolean): Promise<Outcome> {
    const signal = opts.signal;
    if (this.closed.signal.aborted) {
      return { ok: false, error: new StoreError('ERR_ETCD_UNAVAILABLE', ep.url, 'etcd client is closed', { retryable: false }), failover: false, tokenRejected: false };
    }
    signal?.throwIfAborted();
    const state: SendState = { sent: false, timedOut: false };
    let sent: Sent | undefined;
    let handedOver = false;
    try {
      sent = await this.send(ep, path, payload, token, signal, state, this.timeoutMs);
      const { res } = sent;
      if (stream && res.statusCode === 200) {
        handedOver = true;
        return { ok: true, endpoint: ep.url, body: undefined, stream: sent };
      }
      if (opts.consume && res.statusCode === 200) return { ok: true, endpoint: ep.url, body: await opts.consume(res, ep.url), stream: undefined };
      const text = (await readBody(res)).toString('utf8');
      const parsed = parseReply(text, opts.streamed === true && res.statusCode === 200);
      if (res.statusCode === 200 && parsed.error === undefined) return { ok: true, endpoint: ep.url, body: parsed.result, stream: undefined };
      const err: WireError = parsed.error ?? (typeof parsed.result === 'object' && parsed.result !== null ? (parsed.result as WireError) : { message: text.slice(0, 200) });
      const grpcCode = err.code ?? err.grpc_code;
      const mapped = grpcCode === undefined ? undefined : opts.mapError?.(grpcCode, ep.url);
      if (mapped !== undefined) return { ok: false, error: mapped, failover: false, tokenRejected: false };
      const r = this.etcdError(res.statusCode ?? 0, err, ep.url, path);
      return { ...r, failover: r.failover && opts.idempotent };
    } catch (err) {
      signal?.throwIfAborted();
      if (err instanceof StoreError) return { ok: false, error: err, failover: false, tokenRejected: false };
      const error = transportError(err, ep.url, path, state, this.timeoutMs);
      const staleSocket = state.reused === true && state.responded !== true && !state.timedOut && opts.idempotent;
      return { ok: false, error, failover: !state.sent || opts.idempotent, tokenRejected: false, staleSocket };
    } finally {
      if (!handedOver) sent?.release();
    }
  }

  private etcdError(status: number, err: WireError, endpoint: string, path: string): Outcome & { ok: false } {
    const code = err.code ?? err.grpc_code;
    const what = `POST ${path}: HTTP ${status}: ${err.message ?? err.error ?? 'no message'}${code === undefined ? '' : ` (grpc code ${code})`}`;
    if (path === AUTH_PATH && status < 500) {
      const error = new StoreError('ERR_ETCD_AUTH', endpoint, `${what} (user ${JSON.stringify(this.opts.username ?? '')})`, { retryable: false, status });
      return { ok: false, error, failover: false, tokenRejected: false };
    }
    if (status === 401 || code === GRPC_UNAUTHENTICATED) {
      const error = new StoreError('ERR_ETCD_AUTH', endpoint, what, { retryable: false, status });
      return { ok: false, error, failover: false, tokenRejected: this.hasCredentials };
    }
    if (status === 403 || code === GRPC_PERMISSION_DENIED) {
      return { ok: false, error: new StoreError('ERR_ETCD_AUTH', endpoint, what, { retryable: false, status }), failover: false, tokenRejected: false };
    }
    if (status >= 500 || code === GRPC_UNAVAILABLE || code === GRPC_DEADLINE_EXCEEDED) {
      return { ok: false, error: new StoreError('ERR_ETCD_UNAVAILABLE', endpoint, what, { retryable: true, status }), failover: true, tokenRejected: false };
    }
    return { ok: false, error: new StoreError('ERR_ETCD_REQUEST', endpoint, what, { retryable: false, status }), failover: false, tokenRejected: false };
  }

  private send(
    ep: EtcdEndpoint,
    path: string,
    payload: string,
    token: string | undefined,
    signal: AbortSignal | undefined,
    state: SendState,
    timeoutMs: number,
  ): Promise<Sent> {
    this.opts.onRequest?.({ endpoint: ep.url, path });
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
      if (token !== undefined) headers['authorization'] = token;
      const req = this.pool.post(this.targets.get(ep)!, path, headers, payload);
      const onAbort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      const onClose = () => req.destroy(new Error('etcd client closed'));
      const timer = setTimeout(() => {
        state.timedOut = true;
        req.destroy(new Error(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      const clearTimer = () => clearTimeout(timer);
      const release = (err?: Error) => {
        clearTimer();
        signal?.removeEventListener('abort', onAbort);
        this.closed.signal.removeEventListener('abort', onClose);
        // A reply read to its end has already given its connection back: this is then a no-op.
        req.destroy(err);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.closed.signal.addEventListener('abort', onClose, { once: true });
      req.on('socket', (reused: boolean) => {
        state.reused = reused;
        if (reused) state.sent = true;
      });
      req.on('connect', () => (state.sent = true));
      req.on('response', (res: Http1Reply) => {
        state.responded = true;
        resolve({ req, res, state, clearTimer, release });
      });
      req.on('error', (err: Error) => {
        release();
        reject(err);
      });
    });
  }
}

/** Waits for a shared promise, giving up (not cancelling it) when this caller's signal aborts. */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
