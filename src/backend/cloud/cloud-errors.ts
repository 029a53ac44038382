import { FlannelError } from '../../errors.js';

/**
 * A cloud API call failed. Providers translate their SDK's errors into this once, at the
 * boundary (never by message text in the loop): `retryable` says whether trying again can help
 * (throttling, 5xx, a network error, a timeout) or not (bad credentials, a missing table, a
 * denied permission). `apiCode` is the provider's own error code (e.g. "RequestLimitExceeded").
 */
export class CloudApiError extends FlannelError {
  readonly provider: string;
  readonly operation: string;
  readonly retryable: boolean;
  readonly apiCode: string | undefined;
  readonly status: number | undefined;
  constructor(
    provider: string,
    operation: string,
    message: string,
    opts: { retryable: boolean; apiCode?: string | undefined; status?: number | undefined; cause?: unknown },
  ) {
    const what = opts.apiCode ? `${opts.apiCode}: ${message}` : message;
    super('ERR_CLOUD_API', `${provider} ${operation}: ${what}`, { cause: opts.cause });
    this.provider = provider;
    this.operation = operation;
    this.retryable = opts.retryable;
    this.apiCode = opts.apiCode;
    this.status = opts.status;
  }
}

/**
 * The route table cannot take another route (AWS's routes-per-table limit, Tencent's 50 routes,
 * a GCE routes quota). Never retryable by backing off: someone must raise the limit or free routes.
 */
export class RouteTableFullError extends FlannelError {
  readonly table: string;
  /** The limit as the provider states it, when known. */
  readonly limit: number | undefined;
  readonly retryable = false;
  constructor(table: string, limit: number | undefined, detail: string, options?: { cause?: unknown }) {
    const lim = limit === undefined ? 'its route limit' : `its limit of ${limit} routes`;
    super('ERR_ROUTE_TABLE_FULL', `route table ${table} is full (${lim}): ${detail}`, options);
    this.table = table;
    this.limit = limit;
  }
}

/** Socket-level error codes after which the same request may well succeed. */
const TRANSIENT_NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
]);

/**
 * Whether an error below the API (no answer at all: refused, reset, timed out, DNS) is worth
 * retrying. Providers use it for errors their SDK does not classify; follows `cause` chains.
 */
export function isTransientNetworkError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const o = e as { code?: unknown; name?: unknown; cause?: unknown };
    if (typeof o.code === 'string' && TRANSIENT_NET_CODES.has(o.code)) return true;
    if (o.name === 'TimeoutError') return true;
    e = o.cause;
  }
  return false;
}

/** Whether the shared loop should retry `err` soon (with backoff): only errors a provider marked so. */
export function isRetryable(err: unknown): boolean {
  return err instanceof CloudApiError && err.retryable;
}
