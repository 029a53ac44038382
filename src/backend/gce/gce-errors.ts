import { errorMessage } from '../../errors.js';
import { CloudApiError, isTransientNetworkError } from '../cloud/cloud-errors.js';

// The canonical codes (google.rpc.Code) the SDK sets on a GoogleError, by number; the REST
// transport maps the HTTP status onto them (https://cloud.google.com/apis/design/errors).
const STATUS_NAMES: Readonly<Record<number, string>> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  15: 'DATA_LOSS',
  16: 'UNAUTHENTICATED',
};

/**
 * Retry helps for these: 429/RESOURCE_EXHAUSTED is the API's rate limit, 409/ABORTED a
 * concurrent change of the same resource, 5xx and DEADLINE_EXCEEDED the service itself
 * (https://cloud.google.com/compute/api-quota, "retry with exponential backoff").
 */
const RETRYABLE = new Set(['UNKNOWN', 'DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED', 'ABORTED', 'INTERNAL', 'UNAVAILABLE']);

/** What the status means for flannel, so that each message says what to fix. */
const HINTS: Readonly<Record<string, string>> = {
  UNAUTHENTICATED: 'the credentials were rejected: check the instance service account or GOOGLE_APPLICATION_CREDENTIALS',
  PERMISSION_DENIED: 'the instance needs the compute OAuth scope and the IAM permissions listed in the README',
  RESOURCE_EXHAUSTED: 'rate limited',
};

/** The HTTP status of a GaxiosError (auth library, metadata server), if it has one. */
function httpStatusOf(err: unknown): number | undefined {
  const e = err as { response?: { status?: unknown }; status?: unknown } | null;
  if (typeof e?.response?.status === 'number') return e.response.status;
  return typeof e?.status === 'number' ? e.status : undefined;
}

/**
 * Turns whatever the SDK, its auth library or gcp-metadata threw into a CloudApiError, once,
 * at the boundary. `operation` is the API method and resource
 * ("compute.routes.insert projects/p/global/routes/flannel-10-244-3-0-24").
 */
export function translateGceError(err: unknown, operation: string): CloudApiError {
  if (err instanceof CloudApiError) return err;
  const e = err as { code?: unknown; reason?: unknown } | null;
  if (typeof e?.code === 'number' && STATUS_NAMES[e.code] !== undefined) {
    const status = STATUS_NAMES[e.code]!;
    // A legacy 403 `rateLimitExceeded`, or ErrorInfo reason RATE_LIMIT_EXCEEDED, is throttling too.
    const throttled = e.reason === 'RATE_LIMIT_EXCEEDED' || /rate ?limit/i.test(errorMessage(err));
    const hint = throttled ? 'rate limited' : HINTS[status];
    return new CloudApiError('gce', operation, `${apiMessage(err)}${hint ? ` (${hint})` : ''}`, {
      retryable: RETRYABLE.has(status) || throttled,
      apiCode: status,
      cause: err,
    });
  }
  const http = httpStatusOf(err);
  if (http !== undefined) {
    // The auth library (a token from the metadata server) or the metadata server answered with an error.
    const apiCode = http === 401 ? 'UNAUTHENTICATED' : http === 403 ? 'PERMISSION_DENIED' : http === 404 ? 'NOT_FOUND' : `HTTP_${http}`;
    const hint = HINTS[apiCode];
    return new CloudApiError('gce', operation, `${apiMessage(err)}${hint ? ` (${hint})` : ''}`, {
      retryable: http === 429 || http >= 500,
      apiCode,
      status: http,
      cause: err,
    });
  }
  // No answer at all: refused, reset, timed out (the API or the metadata server is down for now),
  // or a local fault such as an unreadable credentials file (not retryable).
  return new CloudApiError('gce', operation, describeCause(err), { retryable: isTransientNetworkError(err) || isFetchFailure(err), cause: err });
}

/**
 * The API's own message. When the auth library retried a 401/403 itself, the SDK's error
 * message is the whole JSON error body: take `error.message` out of it.
 */
function apiMessage(err: unknown): string {
  const text = errorMessage(err);
  if (!text.startsWith('{')) return text;
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } };
    return typeof body.error?.message === 'string' ? body.error.message : text;
  } catch {
    return text;
  }
}

/** Node's fetch (the SDK's transport) rejects with "fetch failed" and the socket error as cause. */
function isFetchFailure(err: unknown): boolean {
  const e = err as { name?: unknown; message?: unknown; type?: unknown } | null;
  return (e?.name === 'TypeError' && e.message === 'fetch failed') || e?.type === 'request-timeout' || e?.name === 'FetchError';
}

function describeCause(err: unknown): string {
  const parts = [errorMessage(err)];
  let c = (err as { cause?: unknown } | null)?.cause;
  for (let i = 0; i < 3 && c; i++) {
    parts.push(errorMessage(c));
    c = (c as { cause?: unknown }).cause;
  }
  return parts.join(': ');
}
