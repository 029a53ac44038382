import { CloudApiError, RouteTableFullError } from '../cloud/cloud-errors.js';
import { TENCENT_ROUTE_TABLE_LIMIT } from './tencent-vpc-actions.js';

export const TENCENT_VPC = 'tencent-vpc';

/**
 * A Tencent Cloud API 3.0 call failed, translated once from the SDK's exception. `apiCode` is the
 * answer's `Response.Error.Code` (e.g. "AuthFailure.SignatureFailure", "RequestLimitExceeded"),
 * absent when no answer came (network failure, timeout) or the HTTP status was not 200 (`status`).
 */
export class TencentApiError extends CloudApiError {
  readonly requestId: string;
  constructor(action: string, opts: { apiCode: string; message: string; httpStatus?: number; requestId?: string; cause?: unknown }) {
    const rid = opts.requestId ? ` (RequestId ${opts.requestId})` : '';
    const what = opts.apiCode === '' && opts.httpStatus !== undefined ? `HTTP ${opts.httpStatus}: ` : '';
    super(TENCENT_VPC, action, `${what}${opts.message}${rid}`, {
      retryable: isRetryableAnswer(opts.apiCode, opts.httpStatus),
      apiCode: opts.apiCode === '' ? undefined : opts.apiCode,
      status: opts.httpStatus,
      cause: opts.cause,
    });
    this.requestId = opts.requestId ?? '';
  }
}

/**
 * API 3.0 common error codes: `RequestLimitExceeded*` (throttled), `InternalError*`,
 * `ResourceUnavailable*` and `FailedOperation.InternalOperationFailure` are transient;
 * `AuthFailure.*`, `InvalidParameter*`, `ResourceNotFound*`, `LimitExceeded*`,
 * `UnauthorizedOperation*` are not. No answer at all (refused, reset, timed out) is retried,
 * as is an HTTP 429 or 5xx.
 */
export function isRetryableAnswer(apiCode: string, httpStatus: number | undefined): boolean {
  if (apiCode !== '') return /^(RequestLimitExceeded|InternalError|ResourceUnavailable|FailedOperation\.InternalOperationFailure)/.test(apiCode);
  if (httpStatus !== undefined) return httpStatus === 429 || httpStatus >= 500;
  // The SDK wraps socket errors into its exception with only the message kept; any failure
  // without an answer is a transport failure, worth retrying.
  return true;
}

/** The API answered `LimitExceeded` to CreateRoutes: the table holds as many routes as Tencent allows. */
export function tencentTableFull(table: string, destination: string, cause: TencentApiError): RouteTableFullError {
  return new RouteTableFullError(
    table,
    TENCENT_ROUTE_TABLE_LIMIT,
    `adding ${destination} was refused (${cause.apiCode ?? 'LimitExceeded'}); Tencent Cloud VPC allows ${TENCENT_ROUTE_TABLE_LIMIT} routes per route table`,
    { cause },
  );
}

/** Discovery found no route table to write into, or the table is gone: not retryable. */
export function tencentTableMissing(table: string, reason: string, cause?: unknown): CloudApiError {
  return new CloudApiError(TENCENT_VPC, 'DescribeRouteTables', `route table ${table}: ${reason}`, { retryable: false, apiCode: 'ResourceNotFound', cause });
}
