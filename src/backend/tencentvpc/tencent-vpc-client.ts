import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { errorMessage } from '../../errors.js';
import { TencentApiError } from './tencent-api-error.js';
import { TENCENT_VPC_API_VERSION, type TencentVpcAction } from './tencent-vpc-actions.js';
import type { TencentApiEndpoint } from './tencent-vpc-config.js';

/** One VPC API 3.0 call: `Response` minus its `RequestId`, or a TencentApiError. */
export interface TencentVpcApi {
  call(action: TencentVpcAction, params: Readonly<Record<string, unknown>>, signal: AbortSignal): Promise<Record<string, unknown>>;
}

export interface TencentVpcClientOptions {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly region: string;
  readonly api: TencentApiEndpoint;
  /** Per request, seconds (the SDK's httpProfile.reqTimeout; default 10). */
  readonly timeoutSeconds?: number;
}

/** The shape of the SDK's exception (TencentCloudSDKHttpException) that this file reads. */
interface SdkError {
  message: string;
  code?: string;
  httpCode?: number;
  requestId?: string;
}

/**
 * Builds a CommonClient of the official SDK (tencentcloud-sdk-nodejs-common) for service "vpc",
 * version 2017-03-12, TC3-HMAC-SHA256 signing. The SDK is imported here, only when the
 * tencent-vpc backend runs. Endpoint and protocol go through the SDK's httpProfile; an IP
 * address override is reached through an agent whose lookup answers that address.
 */
export async function createTencentVpcClient(opts: TencentVpcClientOptions): Promise<TencentVpcApi> {
  const sdk = (await import('tencentcloud-sdk-nodejs-common')) as unknown as typeof import('tencentcloud-sdk-nodejs-common') & {
    default?: typeof import('tencentcloud-sdk-nodejs-common');
  };
  const CommonClient = sdk.CommonClient ?? sdk.default?.CommonClient;
  const connect = opts.api.connectAddress;
  // Only for an address override: an agent of our own turns off the SDK's proxy support (http_proxy).
  const agentOpts = connect !== undefined ? { keepAlive: true, lookup: fixedLookup(connect) } : undefined;
  const agent = agentOpts === undefined ? undefined : opts.api.protocol === 'http://' ? new HttpAgent(agentOpts) : new HttpsAgent(agentOpts);
  const client = new CommonClient(opts.api.endpoint, TENCENT_VPC_API_VERSION, {
    credential: { secretId: opts.accessKeyId, secretKey: opts.accessKeySecret },
    region: opts.region,
    profile: {
      signMethod: 'TC3-HMAC-SHA256',
      httpProfile: { reqMethod: 'POST', endpoint: opts.api.endpoint, protocol: opts.api.protocol, reqTimeout: opts.timeoutSeconds ?? 10, ...(agent ? { agent } : {}) },
    },
  });
  return {
    async call(action, params, signal) {
      try {
        const res = (await client.request(action, params, { signal })) as Record<string, unknown>;
        return res;
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        const e = err as SdkError;
        throw new TencentApiError(action, {
          apiCode: typeof e.code === 'string' ? e.code : '',
          message: errorMessage(err) || 'failed',
          httpStatus: typeof e.httpCode === 'number' ? e.httpCode : undefined,
          requestId: typeof e.requestId === 'string' ? e.requestId : undefined,
          cause: err,
        });
      }
    },
  };
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A dns.lookup stand-in that answers one fixed address for any name (like curl's --connect-to). */
function fixedLookup(address: string) {
  const family = isIP(address);
  return (_host: string, options: LookupOptions | number | LookupCallback, cb?: LookupCallback): void => {
    const callback = typeof options === 'function' ? options : cb;
    const all = typeof options === 'object' && options.all === true;
    if (!callback) return;
    if (all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}
