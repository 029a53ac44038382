import { errorMessage } from '../../errors.js';
import { CloudApiError, isTransientNetworkError } from '../cloud/cloud-errors.js';

/** What flannel reads from the CVM metadata service: the region and the VPC of the primary NIC. */
export interface TencentInstanceFacts {
  readonly region: string;
  readonly mac: string;
  readonly vpcId: string;
}

/** The metadata service did not answer (retryable), or answered something unusable. */
export class TencentMetadataError extends CloudApiError {
  readonly url: string;
  constructor(url: string, reason: string, retryable: boolean, cause?: unknown) {
    super('tencent-vpc', `metadata ${url}`, reason, { retryable, cause });
    this.url = url;
  }
}

export interface MetadataOptions {
  /** Base URL, e.g. http://metadata.tencentyun.com. */
  readonly baseUrl: string;
  /** Per request (default 5 s). */
  readonly timeoutMs?: number;
}

/**
 * Reads the three values flannel's get_vm_region/get_vm_vpcid read, by the same paths:
 *   /latest/meta-data/placement/region
 *   /latest/meta-data/mac
 *   /latest/meta-data/network/interfaces/macs/<mac>/vpc-id
 * (Tencent CVM instance metadata; plain-text answers, HTTP 200.)
 */
export async function discoverInstance(opts: MetadataOptions, signal: AbortSignal): Promise<TencentInstanceFacts> {
  const region = await metadataGet(opts, 'placement/region', signal);
  const mac = await metadataGet(opts, 'mac', signal);
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) throw new TencentMetadataError(`${opts.baseUrl}/latest/meta-data/mac`, `not a MAC address: ${JSON.stringify(mac.slice(0, 64))}`, false);
  const vpcId = await metadataGet(opts, `network/interfaces/macs/${mac}/vpc-id`, signal);
  return { region, mac, vpcId };
}

async function metadataGet(opts: MetadataOptions, path: string, signal: AbortSignal): Promise<string> {
  const url = `${opts.baseUrl}/latest/meta-data/${path}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(opts.timeoutMs ?? 5000)]) });
  } catch (err) {
    if (signal.aborted) throw err;
    // Refused, reset, timed out: the service may come back (retried). A name that does not resolve
    // (ENOTFOUND) means this is no Tencent CVM, or the override is wrong: not retried.
    const transient = isTransientNetworkError(err);
    const hint = transient ? '' : ` (is this a Tencent Cloud CVM? the endpoint can be set with TENCENTCLOUD_METADATA_ENDPOINT)`;
    throw new TencentMetadataError(url, `no answer: ${describe(err)}${hint}`, transient, err);
  }
  const body = (await res.text()).trim();
  if (res.status !== 200) throw new TencentMetadataError(url, `HTTP ${res.status}`, res.status >= 500);
  if (body === '' || /\s/.test(body)) throw new TencentMetadataError(url, `unusable answer ${JSON.stringify(body.slice(0, 64))}`, false);
  return body;
}

/** fetch's own message is "fetch failed"; the reason is in its cause. */
function describe(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${errorMessage(err)}: ${cause.message}` : errorMessage(err);
}
