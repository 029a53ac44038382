import { CloudApiError, isTransientNetworkError, RouteTableFullError } from '../cloud/cloud-errors.js';

/**
 * EC2 error codes after which the same request may succeed later: throttling (EC2 API Reference,
 * "Request throttling": RequestLimitExceeded and the SDKs' throttling codes) and server errors.
 */
const RETRYABLE_CODES = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'EC2ThrottledException',
  'BandwidthLimitExceeded',
  'PriorRequestNotComplete',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Translates an error of @aws-sdk/client-ec2 into CloudApiError (or RouteTableFullError for
 * RouteLimitExceeded), once, here. Aborts pass through unchanged.
 */
export function toAwsError(operation: string, err: unknown, table?: string): Error {
  if (err instanceof CloudApiError || err instanceof RouteTableFullError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  if (e.name === 'AbortError') return err as Error;
  const code = typeof e.name === 'string' && e.name !== 'Error' ? e.name : undefined;
  const status = e.$metadata?.httpStatusCode;
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(err);
  if (code === 'RouteLimitExceeded' && table !== undefined) {
    return new RouteTableFullError(table, undefined, `${code}: ${message} (EC2 quota "Routes per route table", 50 unless raised)`, { cause: err });
  }
  const retryable =
    (code !== undefined && RETRYABLE_CODES.has(code)) || (status !== undefined && (status >= 500 || status === 429)) || isTransientNetworkError(err);
  const where = table !== undefined ? ` (route table ${table})` : '';
  let hint = '';
  if (code === 'InvalidRouteTableID.NotFound') hint = ': the route table does not exist in this region (check Backend.RouteTableID)';
  else if (code === 'AuthFailure' || code === 'UnrecognizedClientException' || code === 'InvalidClientTokenId') hint = ': check the AWS credentials (SDK default chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile, instance role)';
  else if (code === 'UnauthorizedOperation') hint = ': the credentials lack this permission (see the IAM policy in the README)';
  else if (code === 'CredentialsProviderError') hint = ': no AWS credentials found by the SDK default chain';
  return new CloudApiError('aws-vpc', `${operation}${where}`, `${message}${hint}`, { retryable, apiCode: code, status, cause: err });
}
