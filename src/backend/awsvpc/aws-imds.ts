import { CloudApiError, isTransientNetworkError } from '../cloud/cloud-errors.js';

/** The SDK's IMDS helpers (@smithy/credential-provider-imds, what @aws-sdk/client-ec2's credential chain uses). */
type ImdsLib = typeof import('@smithy/credential-provider-imds');

/** Session tokens live this long (the SDK's own value; IMDS accepts 1..21600 s). */
const TOKEN_TTL_SEC = 21600;
const TIMEOUT_MS = 2000;

/**
 * IMDSv2 through the SDK's own helpers: the endpoint as the SDK resolves it
 * (AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE, or the config
 * file's ec2_metadata_service_endpoint; default http://169.254.169.254), a session token from
 * `PUT /latest/api/token`, then `GET /latest/meta-data/<path>` with `X-aws-ec2-metadata-token`.
 * A 401 (token expired) takes a new token once.
 */
export class Imds {
  private token: { value: string; expires: number } | undefined;

  private constructor(
    private readonly lib: ImdsLib,
    private readonly endpoint: { hostname: string; port: number | undefined; protocol: string },
  ) {}

  static async open(): Promise<Imds> {
    const lib = await import('@smithy/credential-provider-imds');
    let ep;
    try {
      ep = await lib.getInstanceMetadataEndpoint();
    } catch (err) {
      throw new CloudApiError('aws-vpc', 'instance metadata endpoint', (err as Error).message, { retryable: false, cause: err });
    }
    return new Imds(lib, { hostname: ep.hostname, port: ep.port, protocol: ep.protocol });
  }

  get where(): string {
    return `${this.endpoint.protocol}//${this.endpoint.hostname}${this.endpoint.port ? `:${this.endpoint.port}` : ''}`;
  }

  private async request(path: string, method: string, headers: Record<string, string>): Promise<string> {
    if (this.endpoint.protocol !== 'http:') throw new CloudApiError('aws-vpc', 'instance metadata', `${this.where}: only http endpoints are supported`, { retryable: false });
    const buf = await this.lib.httpRequest({ hostname: this.endpoint.hostname, port: this.endpoint.port, path, method, headers, timeout: TIMEOUT_MS });
    return buf.toString('utf8');
  }

  private async sessionToken(): Promise<string> {
    if (this.token && this.token.expires > Date.now()) return this.token.value;
    const value = await this.request('/latest/api/token', 'PUT', { 'x-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_SEC) });
    this.token = { value, expires: Date.now() + (TOKEN_TTL_SEC - 60) * 1000 };
    return value;
  }

  /** One metadata value (e.g. "instance-id", "placement/region"), trimmed. */
  async get(path: string): Promise<string> {
    try {
      for (let attempt = 0; ; attempt++) {
        const token = await this.sessionToken();
        try {
          return (await this.request(`/latest/meta-data/${path}`, 'GET', { 'x-aws-ec2-metadata-token': token })).trim();
        } catch (err) {
          if ((err as { statusCode?: number }).statusCode === 401 && attempt === 0) {
            this.token = undefined;
            continue;
          }
          throw err;
        }
      }
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      const retryable = status === undefined ? isTransientNetworkError(err) || /Timeout/i.test((err as Error).message) : status >= 500 || status === 429;
      const what = status === undefined ? (err as Error).message : `HTTP ${status}`;
      throw new CloudApiError('aws-vpc', `instance metadata ${path} from ${this.where}`, what, { retryable, status, cause: err });
    }
  }
}
