/**
 * The flannel plugin's network configuration (stdin): the fields flannel's plugin reads
 * (`name`, `cniVersion`, `subnetFile`, `dataDir`, `delegate`, `ipam`, `runtimeConfig`) and, for
 * CHECK and GC, `prevResult` and the valid attachments. Malformed JSON is error 6; wrong field
 * types are error 7; an unsupported cniVersion is error 1.
 */
import { CniError } from '../errors.js';
import { CniCode, IMPLICIT_VERSION, SUPPORTED_VERSIONS, isSupportedVersion } from './cni-spec.js';

export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';
export const DEFAULT_DATA_DIR = '/var/lib/cni/flannel';

export type JsonObject = Record<string, unknown>;

export interface GcAttachment {
  readonly containerId: string;
  readonly ifName: string | undefined;
}

export interface FlannelNetConf {
  /** The whole document as given. */
  readonly raw: JsonObject;
  /** `cniVersion` as given ('' when absent). */
  readonly cniVersion: string;
  /** The version the plugin speaks for this config: `cniVersion`, or 0.1.0 when absent. */
  readonly effectiveVersion: string;
  readonly name: string;
  readonly subnetFile: string;
  readonly dataDir: string;
  readonly delegate: JsonObject | undefined;
  readonly ipam: JsonObject | undefined;
  readonly runtimeConfig: JsonObject | undefined;
  readonly prevResult: JsonObject | undefined;
  /** `cni.dev/valid-attachments` (or the older `cni.dev/attachments`), for GC. */
  readonly validAttachments: readonly GcAttachment[] | undefined;
}

/** Parses stdin bytes into a JSON object; error 6 when it is not one. */
export function decodeJsonObject(bytes: Buffer | string, what: string): JsonObject {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (err) {
    throw new CniError(CniCode.DECODING_FAILURE, `failed to decode ${what}: ${(err as Error).message}`, { cause: err });
  }
  if (!isObject(doc)) throw new CniError(CniCode.DECODING_FAILURE, `failed to decode ${what}: not a JSON object`);
  return doc;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(field: string, value: unknown, reason: string): CniError {
  const shown = JSON.stringify(value)?.slice(0, 200) ?? String(value);
  return new CniError(CniCode.INVALID_NETWORK_CONFIG, `invalid network config: ${field}=${shown}: ${reason}`);
}

function optString(doc: JsonObject, field: string, fallback: string, nonEmpty = false): string {
  const v = doc[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') throw invalid(field, v, 'want a string');
  if (nonEmpty && v === '') throw invalid(field, v, 'must not be empty');
  return v;
}

function optObject(doc: JsonObject, field: string): JsonObject | undefined {
  const v = doc[field];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw invalid(field, v, 'want a JSON object');
  return v;
}

/** Decodes and validates the plugin's config. */
export function parseNetConf(bytes: Buffer | string): FlannelNetConf {
  const raw = decodeJsonObject(bytes, 'network config from stdin');
  const cniVersion = optString(raw, 'cniVersion', '');
  const effectiveVersion = cniVersion === '' ? IMPLICIT_VERSION : cniVersion;
  if (!isSupportedVersion(effectiveVersion)) {
    throw new CniError(CniCode.INCOMPATIBLE_VERSION, `incompatible CNI versions: config is ${JSON.stringify(effectiveVersion)}, plugin supports ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  return {
    raw,
    cniVersion,
    effectiveVersion,
    name: optString(raw, 'name', ''),
    subnetFile: optString(raw, 'subnetFile', DEFAULT_SUBNET_FILE, true),
    dataDir: optString(raw, 'dataDir', DEFAULT_DATA_DIR, true),
    delegate: optObject(raw, 'delegate'),
    ipam: optObject(raw, 'ipam'),
    runtimeConfig: optObject(raw, 'runtimeConfig'),
    prevResult: optObject(raw, 'prevResult'),
    validAttachments: parseAttachments(raw),
  };
}

function parseAttachments(raw: JsonObject): GcAttachment[] | undefined {
  const field = 'cni.dev/valid-attachments' in raw ? 'cni.dev/valid-attachments' : 'cni.dev/attachments';
  const v = raw[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw invalid(field, v, 'want a list of {"containerID", "ifname"}');
  return v.map((a: unknown, i) => {
    if (!isObject(a) || typeof a.containerID !== 'string') throw invalid(`${field}[${i}]`, a, 'want {"containerID": string, "ifname": string}');
    return { containerId: a.containerID, ifName: typeof a.ifname === 'string' ? a.ifname : undefined };
  });
}
