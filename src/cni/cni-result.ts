/**
 * The parts of a CNI result (0.3.0 and later: `interfaces`, `ips`, `routes`) that CHECK
 * compares with the pod's namespace. Malformed results are error 6 (failed to decode).
 */
import { CniError } from '../errors.js';
import { IPAddress } from '../ip/ip-address.js';
import { IPNetwork } from '../ip/ip-network.js';
import { CniCode } from './cni-spec.js';
import { isObject, type JsonObject } from './net-conf.js';

export interface ResultInterface {
  readonly name: string;
  readonly mac: string | undefined;
  /** The netns path for container interfaces; '' for host interfaces. */
  readonly sandbox: string;
}

export interface ResultIp {
  readonly ip: IPAddress;
  readonly prefixLength: number;
  readonly gateway: IPAddress | undefined;
  /** Index into `interfaces`, when given. */
  readonly interfaceIndex: number | undefined;
}

export interface ResultRoute {
  readonly dst: IPNetwork;
  readonly gw: IPAddress | undefined;
}

export interface CniResult {
  readonly interfaces: readonly ResultInterface[];
  readonly ips: readonly ResultIp[];
  readonly routes: readonly ResultRoute[];
}

function bad(field: string, value: unknown, why: string): CniError {
  return new CniError(CniCode.DECODING_FAILURE, `failed to decode prevResult: ${field}=${JSON.stringify(value)?.slice(0, 200)}: ${why}`);
}

function list(doc: JsonObject, field: string): unknown[] {
  const v = doc[field];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(field, v, 'want a list');
  return v;
}

function optAddress(field: string, v: unknown): IPAddress | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const ip = typeof v === 'string' ? IPAddress.tryParse(v) : undefined;
  if (!ip) throw bad(field, v, 'want an IP address');
  return ip;
}

/** Parses a 0.3.0+ result document. */
export function parseCniResult(doc: JsonObject): CniResult {
  const interfaces = list(doc, 'interfaces').map((v, i): ResultInterface => {
    if (!isObject(v) || typeof v.name !== 'string') throw bad(`interfaces[${i}]`, v, 'want {"name": string, ...}');
    return {
      name: v.name,
      mac: typeof v.mac === 'string' && v.mac !== '' ? v.mac.toLowerCase() : undefined,
      sandbox: typeof v.sandbox === 'string' ? v.sandbox : '',
    };
  });
  const ips = list(doc, 'ips').map((v, i): ResultIp => {
    if (!isObject(v) || typeof v.address !== 'string') throw bad(`ips[${i}]`, v, 'want {"address": CIDR, ...}');
    const slash = v.address.indexOf('/');
    const ip = slash > 0 ? IPAddress.tryParse(v.address.slice(0, slash)) : undefined;
    const len = Number(v.address.slice(slash + 1));
    if (!ip || !Number.isInteger(len) || len < 0 || len > ip.bits) throw bad(`ips[${i}].address`, v.address, 'want an address with its prefix length');
    const idx = v.interface;
    if (idx !== undefined && idx !== null && (typeof idx !== 'number' || !Number.isInteger(idx) || idx < 0 || idx >= interfaces.length)) {
      throw bad(`ips[${i}].interface`, idx, `want an index into interfaces (0..${interfaces.length - 1})`);
    }
    return { ip, prefixLength: len, gateway: optAddress(`ips[${i}].gateway`, v.gateway), interfaceIndex: typeof idx === 'number' ? idx : undefined };
  });
  const routes = list(doc, 'routes').map((v, i): ResultRoute => {
    if (!isObject(v) || typeof v.dst !== 'string') throw bad(`routes[${i}]`, v, 'want {"dst": CIDR, ...}');
    let dst: IPNetwork;
    try {
      dst = IPNetwork.parse(v.dst);
    } catch (err) {
      throw bad(`routes[${i}].dst`, v.dst, (err as Error).message);
    }
    return { dst, gw: optAddress(`routes[${i}].gw`, v.gw) };
  });
  return { interfaces, ips, routes };
}
