import { ConfigError } from '../../errors.js';
import { IPAddress } from '../../ip/ip-address.js';
import { TENCENT_VPC_SERVICE } from './tencent-vpc-actions.js';

/**
 * The tencent-vpc backend's settings: flannel's two options (`AccessKeyID`, `AccessKeySecret`,
 * else the environment variables `ACCESS_KEY_ID` / `ACCESS_KEY_SECRET` flannel reads, else the
 * Tencent Cloud SDK/CLI's `TENCENTCLOUD_SECRET_ID` / `TENCENTCLOUD_SECRET_KEY`), and the two
 * endpoints, overridable through the environment for tests and private clouds (the Node SDK has
 * no variable of its own for them).
 */
export interface TencentVpcConfig {
  readonly accessKeyId: string;
  /** Never logged, never put in an error message. */
  readonly accessKeySecret: string;
  /** Where the credentials came from, for the log. */
  readonly credentialSource: string;
  readonly api: TencentApiEndpoint;
  /** Base URL of the metadata service, without a trailing slash. */
  readonly metadataUrl: string;
}

export interface TencentApiEndpoint {
  /** `https://` or `http://` (the SDK's httpProfile.protocol). */
  readonly protocol: 'https://' | 'http://';
  /** host[:port] the request is addressed and signed to (the SDK's httpProfile.endpoint). */
  readonly endpoint: string;
  /** When the override named an IP address: connect there (the request still says `vpc.tencentcloudapi.com`). */
  readonly connectAddress: string | undefined;
}

export const API_ENDPOINT_ENV = 'TENCENTCLOUD_VPC_ENDPOINT';
export const METADATA_ENDPOINT_ENV = 'TENCENTCLOUD_METADATA_ENDPOINT';
export const DEFAULT_API_HOST = `${TENCENT_VPC_SERVICE}.tencentcloudapi.com`;
/** flannel's get_vm_metadata: http://metadata.tencentyun.com/latest/meta-data/... */
export const DEFAULT_METADATA_URL = 'http://metadata.tencentyun.com';

/** The credential pairs looked at, in order (the first complete pair wins). */
const ENV_PAIRS: readonly (readonly [string, string])[] = [
  ['ACCESS_KEY_ID', 'ACCESS_KEY_SECRET'],
  ['TENCENTCLOUD_SECRET_ID', 'TENCENTCLOUD_SECRET_KEY'],
];

export function parseTencentVpcConfig(
  backend: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
): TencentVpcConfig {
  const id = optionString(backend, 'AccessKeyID', false);
  const secret = optionString(backend, 'AccessKeySecret', true);
  const creds = pickCredentials(id, secret, env);
  return {
    ...creds,
    api: parseApiEndpoint(env[API_ENDPOINT_ENV]),
    metadataUrl: parseMetadataUrl(env[METADATA_ENDPOINT_ENV]),
  };
}

function optionString(backend: Readonly<Record<string, unknown>>, name: string, secret: boolean): string {
  const v = backend[name];
  if (v === undefined || v === null) return '';
  // A secret's value is never echoed, not even a malformed one: only its type is named.
  if (typeof v !== 'string') throw new ConfigError(`Backend.${name}`, secret ? `<${typeof v}>` : v, 'must be a string');
  if (v !== v.trim() || /\s/.test(v)) throw new ConfigError(`Backend.${name}`, secret ? '<redacted>' : v, 'must not contain white space');
  return v;
}

function pickCredentials(
  id: string,
  secret: string,
  env: Readonly<Record<string, string | undefined>>,
): Pick<TencentVpcConfig, 'accessKeyId' | 'accessKeySecret' | 'credentialSource'> {
  // flannel: the options when both are set, else the ACCESS_KEY_ID/ACCESS_KEY_SECRET pair.
  if (id !== '' && secret !== '') return { accessKeyId: id, accessKeySecret: secret, credentialSource: 'Backend.AccessKeyID/AccessKeySecret' };
  for (const [idVar, secretVar] of ENV_PAIRS) {
    const envId = env[idVar]?.trim() ?? '';
    const envSecret = env[secretVar]?.trim() ?? '';
    if (envId !== '' && envSecret !== '') return { accessKeyId: envId, accessKeySecret: envSecret, credentialSource: `${idVar}/${secretVar}` };
  }
  const half = id !== '' ? ' (Backend.AccessKeyID is set, Backend.AccessKeySecret is not)' : secret !== '' ? ' (Backend.AccessKeySecret is set, Backend.AccessKeyID is not)' : '';
  throw new ConfigError(
    'Backend.AccessKeyID',
    id,
    `tencent-vpc needs an API key pair: Backend.AccessKeyID and Backend.AccessKeySecret, or the environment variables ` +
      `${ENV_PAIRS.map(([a, b]) => `${a} and ${b}`).join(', or ')}${half}`,
  );
}

/** `[http://|https://]host[:port]`; an IP address host is connected to while the request names vpc.tencentcloudapi.com. */
export function parseApiEndpoint(raw: string | undefined): TencentApiEndpoint {
  if (raw === undefined || raw.trim() === '') return { protocol: 'https://', endpoint: DEFAULT_API_HOST, connectAddress: undefined };
  const text = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(API_ENDPOINT_ENV, raw, 'must be [http://|https://]host[:port]');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(API_ENDPOINT_ENV, raw, 'the scheme must be http:// or https://');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigError(API_ENDPOINT_ENV, raw, 'must be [http://|https://]host[:port], with no path, query or user');
  }
  const protocol = url.protocol === 'http:' ? 'http://' : 'https://';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port !== '' ? `:${url.port}` : '';
  if (IPAddress.tryParse(host)) {
    // API 3.0 derives the service from the host name (the SDK signs `vpc` out of "vpc.<...>"), so an
    // address alone cannot name it: sign for the public host name and connect to the address.
    return { protocol, endpoint: `${DEFAULT_API_HOST}${port}`, connectAddress: host };
  }
  if (!host.startsWith(`${TENCENT_VPC_SERVICE}.`)) {
    throw new ConfigError(API_ENDPOINT_ENV, raw, `the host must start with "${TENCENT_VPC_SERVICE}." (API 3.0 takes the service from it), or be an IP address`);
  }
  return { protocol, endpoint: `${host}${port}`, connectAddress: undefined };
}

function parseMetadataUrl(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') return DEFAULT_METADATA_URL;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(METADATA_ENDPOINT_ENV, raw, 'must be an http:// URL such as http://metadata.tencentyun.com');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(METADATA_ENDPOINT_ENV, raw, 'the scheme must be http:// or https://');
  if (url.search !== '' || url.username !== '' || url.password !== '') throw new ConfigError(METADATA_ENDPOINT_ENV, raw, 'must have no query or user');
  return url.toString().replace(/\/+$/, '');
}
